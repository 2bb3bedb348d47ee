// Package deploy holds no Go code: it is the home of dxwatch's deployment
// files and of the tests that keep them right. dxwatch.service is the
// systemd unit (a dedicated user, CAP_NET_RAW as its only capability,
// hardened); sysusers.d/ creates that user; kubernetes/ is a kustomization
// for one agent per site (Deployment, Service, ServiceMonitor, ConfigMap from
// the site's configuration, BGP MD5 keys from a Secret); iam-policy.json is
// the read-only AWS policy the AWS checks need. The Dockerfile at the
// repository root builds the image; docs/deployment.md explains it all.
package deploy
