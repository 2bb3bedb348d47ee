# syntax=docker/dockerfile:1
#
# dxwatch container image: a static binary carrying the file capability
# cap_net_raw+ep, on distroless static, run as 65532:65532.
#
#   docker build -t dxwatch --build-arg VERSION=$(git describe --tags --always) .
#   docker run -d --name dxwatch --cap-drop ALL --cap-add NET_RAW \
#     -v /etc/dxwatch:/etc/dxwatch:ro -v dxwatch-state:/var/lib/dxwatch \
#     -p 9479:9479 dxwatch
#
# Without --cap-add NET_RAW the container does not start ("exec ...:
# operation not permitted"): the kernel refuses to exec a binary whose
# effective file capability is missing from the bounding set. That is also
# how to check the capability survived the build.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" \
      -o /out/dxwatch ./cmd/dxwatch

# distroless has no shell and no setcap: set the capability here. BuildKit's
# COPY --from keeps the security.capability extended attribute.
FROM debian:bookworm-slim AS setcap
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcap2-bin \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/dxwatch /usr/local/bin/dxwatch
RUN setcap cap_net_raw+ep /usr/local/bin/dxwatch \
 && getcap /usr/local/bin/dxwatch | grep -q cap_net_raw
# The state directory (--storage.path: the event history); distroless has no
# shell to create it. The final stage copies it with --chown: COPY does not
# keep owners by default.
RUN install -d -m 0750 -o 65532 -g 65532 /rootfs/var/lib/dxwatch

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="dxwatch" \
      org.opencontainers.image.description="AWS Direct Connect link monitor" \
      org.opencontainers.image.source="https://github.com/dxwatch/dxwatch" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=setcap /usr/local/bin/dxwatch /usr/local/bin/dxwatch
# /var/lib/'s contents, so that the dxwatch directory itself is an entry
# the --chown applies to.
COPY --from=setcap --chown=65532:65532 /rootfs/var/lib/ /var/lib/
# Mount a named volume here so that the history survives a new container
# (an upgrade): -v dxwatch-state:/var/lib/dxwatch.
VOLUME /var/lib/dxwatch
USER 65532:65532
EXPOSE 9479
ENTRYPOINT ["/usr/local/bin/dxwatch"]
CMD ["run", "--config=/etc/dxwatch/dxwatch.yaml"]
