package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/dxwatch/dxwatch/agent/config"
)

const k8sDir = "kubernetes"

// decodeStrict decodes one YAML document into v, rejecting fields v does
// not declare: the structs below spell the Kubernetes API fields the
// manifests may use, so a misspelt or misplaced field fails the test.
func decodeStrict(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%T: %v", v, err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type probe struct {
	HTTPGet struct {
		Path   string `yaml:"path"`
		Port   string `yaml:"port"`
		Scheme string `yaml:"scheme"`
	} `yaml:"httpGet"`
	InitialDelaySeconds int `yaml:"initialDelaySeconds"`
	PeriodSeconds       int `yaml:"periodSeconds"`
	TimeoutSeconds      int `yaml:"timeoutSeconds"`
	FailureThreshold    int `yaml:"failureThreshold"`
}

type container struct {
	Name            string   `yaml:"name"`
	Image           string   `yaml:"image"`
	ImagePullPolicy string   `yaml:"imagePullPolicy"`
	Args            []string `yaml:"args"`
	Ports           []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	} `yaml:"ports"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		Privileged               *bool `yaml:"privileged"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		RunAsUser                *int  `yaml:"runAsUser"`
		Capabilities             struct {
			Add  []string `yaml:"add"`
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type volume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name        string `yaml:"name"`
		DefaultMode int    `yaml:"defaultMode"`
	} `yaml:"configMap"`
	Secret *struct {
		SecretName  string `yaml:"secretName"`
		DefaultMode int    `yaml:"defaultMode"`
		Optional    bool   `yaml:"optional"`
	} `yaml:"secret"`
	EmptyDir *struct {
		SizeLimit string `yaml:"sizeLimit"`
		Medium    string `yaml:"medium"`
	} `yaml:"emptyDir"`
	PersistentVolumeClaim *struct {
		ClaimName string `yaml:"claimName"`
	} `yaml:"persistentVolumeClaim"`
}

type deployment struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		Replicas             int `yaml:"replicas"`
		RevisionHistoryLimit int `yaml:"revisionHistoryLimit"`
		Strategy             struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     struct {
				ServiceAccountName            string `yaml:"serviceAccountName"`
				AutomountServiceAccountToken  *bool  `yaml:"automountServiceAccountToken"`
				EnableServiceLinks            *bool  `yaml:"enableServiceLinks"`
				TerminationGracePeriodSeconds int    `yaml:"terminationGracePeriodSeconds"`
				HostNetwork                   bool   `yaml:"hostNetwork"`
				SecurityContext               struct {
					RunAsNonRoot   *bool `yaml:"runAsNonRoot"`
					RunAsUser      *int  `yaml:"runAsUser"`
					RunAsGroup     *int  `yaml:"runAsGroup"`
					FSGroup        *int  `yaml:"fsGroup"`
					SeccompProfile struct {
						Type string `yaml:"type"`
					} `yaml:"seccompProfile"`
				} `yaml:"securityContext"`
				Containers []container `yaml:"containers"`
				Volumes    []volume    `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type service struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		Type     string            `yaml:"type"`
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
			Protocol   string `yaml:"protocol"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type serviceMonitor struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Endpoints []struct {
			Port          string `yaml:"port"`
			Path          string `yaml:"path"`
			Interval      string `yaml:"interval"`
			ScrapeTimeout string `yaml:"scrapeTimeout"`
			Relabelings   []struct {
				Action       string   `yaml:"action"`
				SourceLabels []string `yaml:"sourceLabels"`
				TargetLabel  string   `yaml:"targetLabel"`
				Replacement  string   `yaml:"replacement"`
			} `yaml:"relabelings"`
		} `yaml:"endpoints"`
	} `yaml:"spec"`
}

type kustomization struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Namespace  string `yaml:"namespace"`
	Labels     []struct {
		Pairs            map[string]string `yaml:"pairs"`
		IncludeSelectors bool              `yaml:"includeSelectors"`
		IncludeTemplates bool              `yaml:"includeTemplates"`
	} `yaml:"labels"`
	Resources          []string `yaml:"resources"`
	ConfigMapGenerator []struct {
		Name  string   `yaml:"name"`
		Files []string `yaml:"files"`
	} `yaml:"configMapGenerator"`
	Images []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
	} `yaml:"images"`
}

func loadDeployment(t *testing.T) deployment {
	t.Helper()
	var d deployment
	decodeStrict(t, readFile(t, filepath.Join(k8sDir, "deployment.yaml")), &d)
	return d
}

func TestKubernetesDeployment(t *testing.T) {
	d := loadDeployment(t)
	if d.APIVersion != "apps/v1" || d.Kind != "Deployment" {
		t.Fatalf("%s %s, want apps/v1 Deployment", d.APIVersion, d.Kind)
	}
	if d.Spec.Replicas != 1 || d.Spec.Strategy.Type != "Recreate" {
		t.Errorf("replicas %d, strategy %q: want one agent per site, replaced with Recreate (never two BGP speakers at once)", d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod template", k, v)
		}
	}
	ps := d.Spec.Template.Spec
	if ps.HostNetwork {
		t.Error("hostNetwork set by default")
	}
	if sc := ps.SecurityContext; !isTrue(sc.RunAsNonRoot) || intVal(sc.RunAsUser) != 65532 || intVal(sc.RunAsGroup) != 65532 || sc.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("pod securityContext %+v: want runAsNonRoot, 65532:65532, seccomp RuntimeDefault", sc)
	}
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		t.Error("the Kubernetes API token is mounted; dxwatch never calls the Kubernetes API")
	}
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(ps.Containers))
	}
	c := ps.Containers[0]

	sc := c.SecurityContext
	if sc == nil {
		t.Fatal("container has no securityContext")
	}
	if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) || !slices.Equal(sc.Capabilities.Add, []string{"NET_RAW"}) {
		t.Errorf("capabilities drop %v add %v, want drop [ALL] add [NET_RAW]", sc.Capabilities.Drop, sc.Capabilities.Add)
	}
	if !isTrue(sc.ReadOnlyRootFilesystem) || !isTrue(sc.RunAsNonRoot) || sc.Privileged == nil || *sc.Privileged {
		t.Errorf("container securityContext: want readOnlyRootFilesystem, runAsNonRoot, privileged false")
	}
	if sc.AllowPrivilegeEscalation == nil {
		t.Error("allowPrivilegeEscalation not set explicitly (it decides whether the file capability works)")
	}

	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 9479 || c.Ports[0].Name != "http-metrics" {
		t.Errorf("ports %+v, want http-metrics 9479", c.Ports)
	}
	for name, p := range map[string]struct {
		p    *probe
		path string
	}{"liveness": {c.LivenessProbe, "/healthz"}, "readiness": {c.ReadinessProbe, "/readyz"}} {
		if p.p == nil || p.p.HTTPGet.Path != p.path || p.p.HTTPGet.Port != "http-metrics" {
			t.Errorf("%s probe %+v, want GET %s on http-metrics", name, p.p, p.path)
		}
	}
	if !slices.Contains(c.Args, "run") || !slices.Contains(c.Args, "--config=/etc/dxwatch/dxwatch.yaml") || !slices.Contains(c.Args, "--web.listen-address=:9479") {
		t.Errorf("args %v", c.Args)
	}
	if c.Resources.Limits["memory"] == "" || c.Resources.Requests["memory"] == "" {
		t.Error("no memory request and limit")
	}

	vols := map[string]volume{}
	for _, v := range ps.Volumes {
		vols[v.Name] = v
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		if _, ok := vols[m.Name]; !ok {
			t.Errorf("mount %s: no such volume", m.Name)
		}
		if m.Name != "tmp" && m.Name != "state" && !m.ReadOnly {
			t.Errorf("mount %s at %s is writable", m.Name, m.MountPath)
		}
		mounts[m.Name] = m.MountPath
	}
	if v := vols["config"]; v.ConfigMap == nil || v.ConfigMap.Name != "dxwatch-config" || mounts["config"] != "/etc/dxwatch" {
		t.Errorf("config: want ConfigMap dxwatch-config at /etc/dxwatch, got %+v at %q", v.ConfigMap, mounts["config"])
	}
	v := vols["bgp-md5"]
	if v.Secret == nil || v.Secret.SecretName != "dxwatch-bgp-md5" || mounts["bgp-md5"] == "" {
		t.Fatalf("bgp-md5: want Secret dxwatch-bgp-md5 mounted as files, got %+v", v.Secret)
	}
	if v.Secret.DefaultMode&0o007 != 0 {
		t.Errorf("MD5 key files mode %o are world-readable", v.Secret.DefaultMode)
	}
	if strings.HasPrefix(mounts["bgp-md5"], mounts["config"]+"/") {
		t.Errorf("secret mounted inside the ConfigMap volume (%s): nested mounts in a read-only volume fail", mounts["bgp-md5"])
	}
	if v := vols["tmp"]; v.EmptyDir == nil || v.EmptyDir.SizeLimit == "" {
		t.Error("tmp: want a size-limited emptyDir")
	}
	if v := vols["state"]; (v.PersistentVolumeClaim == nil && v.EmptyDir == nil) || mounts["state"] != "/var/lib/dxwatch" {
		t.Errorf("state: want a volume (PVC or emptyDir) at /var/lib/dxwatch, the default --storage.path; got %+v at %q", v, mounts["state"])
	}
	if v := vols["state"]; v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName != "dxwatch-state" {
		t.Errorf("state claims %q, want dxwatch-state (pvc.yaml)", v.PersistentVolumeClaim.ClaimName)
	}
	if ps.SecurityContext.FSGroup == nil || *ps.SecurityContext.FSGroup != 65532 {
		t.Error("no fsGroup 65532: the state volume would not be writable by the nonroot user")
	}
	for _, e := range ps.Volumes {
		if e.ConfigMap == nil && e.Secret == nil && e.EmptyDir == nil && e.PersistentVolumeClaim == nil {
			t.Errorf("volume %s: not a ConfigMap, Secret, emptyDir or PersistentVolumeClaim", e.Name)
		}
	}
}

func TestKubernetesServiceAndMonitor(t *testing.T) {
	d := loadDeployment(t)
	var svc service
	decodeStrict(t, readFile(t, filepath.Join(k8sDir, "service.yaml")), &svc)
	if svc.APIVersion != "v1" || svc.Kind != "Service" {
		t.Fatalf("service.yaml: %s %s", svc.APIVersion, svc.Kind)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("service selector %s=%s does not select the pods", k, v)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 9479 || svc.Spec.Ports[0].TargetPort != d.Spec.Template.Spec.Containers[0].Ports[0].Name {
		t.Errorf("service ports %+v", svc.Spec.Ports)
	}

	var sm serviceMonitor
	decodeStrict(t, readFile(t, filepath.Join(k8sDir, "servicemonitor.yaml")), &sm)
	if sm.APIVersion != "monitoring.coreos.com/v1" || sm.Kind != "ServiceMonitor" {
		t.Fatalf("servicemonitor.yaml: %s %s", sm.APIVersion, sm.Kind)
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("%d endpoints", len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	if ep.Port != svc.Spec.Ports[0].Name || ep.Path != "/metrics" {
		t.Errorf("endpoint %s %s, want port %s /metrics", ep.Port, ep.Path, svc.Spec.Ports[0].Name)
	}
	var site, job bool
	for _, r := range ep.Relabelings {
		switch r.TargetLabel {
		case "site":
			site = slices.Equal(r.SourceLabels, []string{"__meta_kubernetes_service_label_dxwatch_io_site"})
		case "job":
			job = r.Replacement == "dxwatch"
		}
	}
	if !site || !job {
		t.Errorf("relabelings %+v: want site from the dxwatch.io/site Service label and job=dxwatch (the alerts match on both)", ep.Relabelings)
	}
	// The Service must carry the label the ServiceMonitor reads.
	var k kustomization
	decodeStrict(t, readFile(t, filepath.Join(k8sDir, "kustomization.yaml")), &k)
	found := false
	for _, l := range k.Labels {
		if l.Pairs["dxwatch.io/site"] != "" && !l.IncludeSelectors {
			found = true
		}
	}
	if !found {
		t.Error("kustomization does not label the objects with dxwatch.io/site (outside selectors)")
	}
}

func TestKustomization(t *testing.T) {
	var k kustomization
	decodeStrict(t, readFile(t, filepath.Join(k8sDir, "kustomization.yaml")), &k)
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("%s %s", k.APIVersion, k.Kind)
	}
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join(k8sDir, r)); err != nil {
			t.Errorf("resource %s: %v", r, err)
		}
	}
	entries, err := os.ReadDir(k8sDir)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{"kustomization.yaml": true}
	for _, r := range k.Resources {
		listed[r] = true
	}
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.Files {
			listed[f] = true
		}
	}
	for _, e := range entries {
		if !listed[e.Name()] {
			t.Errorf("%s is in %s but not in the kustomization", e.Name(), k8sDir)
		}
		data := readFile(t, filepath.Join(k8sDir, e.Name()))
		if regexp.MustCompile(`(?m)^kind:\s*Secret\b`).Match(data) {
			t.Errorf("%s defines a Secret: keys never go in the repository", e.Name())
		}
	}
	if len(k.ConfigMapGenerator) != 1 || k.ConfigMapGenerator[0].Name != "dxwatch-config" || len(k.ConfigMapGenerator[0].Files) != 1 {
		t.Fatalf("configMapGenerator %+v, want dxwatch-config from one file", k.ConfigMapGenerator)
	}
	// The ConfigMap's file is a valid dxwatch configuration, under the name
	// the Deployment's --config expects.
	f := k.ConfigMapGenerator[0].Files[0]
	if f != "dxwatch.yaml" {
		t.Errorf("config file %s, want dxwatch.yaml (mounted as /etc/dxwatch/dxwatch.yaml)", f)
	}
	if _, err := config.Parse(f, readFile(t, filepath.Join(k8sDir, f))); err != nil {
		t.Errorf("the site configuration is invalid:\n%v", err)
	}
}

// TestKustomizeBuild renders the kustomization with kubectl's built-in
// kustomize when kubectl is installed, and checks the rendered objects
// reference each other.
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed: the kustomization is not rendered")
	}
	out, err := exec.Command(kubectl, "kustomize", k8sDir).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("kubectl kustomize: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	kinds := map[string]map[string]any{}
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		kinds[doc["kind"].(string)] = doc
	}
	for _, want := range []string{"Namespace", "ServiceAccount", "ConfigMap", "PersistentVolumeClaim", "Deployment", "Service", "ServiceMonitor"} {
		if kinds[want] == nil {
			t.Errorf("rendered output has no %s", want)
		}
	}
	cmName := dig(kinds["ConfigMap"], "metadata", "name")
	var d deployment
	raw, _ := yaml.Marshal(kinds["Deployment"])
	if err := yaml.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	var vol string
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil {
			vol = v.ConfigMap.Name
		}
	}
	if vol != cmName || !strings.HasPrefix(cmName, "dxwatch-config-") {
		t.Errorf("Deployment mounts ConfigMap %q, rendered ConfigMap is %q", vol, cmName)
	}
	if site := dig(kinds["Service"], "metadata", "labels", "dxwatch.io/site"); site == "" {
		t.Error("rendered Service has no dxwatch.io/site label")
	}
	for _, kind := range []string{"Deployment", "Service", "ServiceMonitor", "ConfigMap", "ServiceAccount"} {
		if ns := dig(kinds[kind], "metadata", "namespace"); ns != "dxwatch" {
			t.Errorf("%s in namespace %q, want dxwatch", kind, ns)
		}
	}
}

func dig(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}

func isTrue(b *bool) bool { return b != nil && *b }

func intVal(i *int) int {
	if i == nil {
		return -1
	}
	return *i
}

// dockerStage is one FROM … AS … stage of a Dockerfile.
type dockerStage struct {
	from, name string
	lines      []string // instructions after FROM, continuation lines joined
}

// parseDockerfile splits a Dockerfile into stages. Enough of the syntax for
// a check: comments, line continuations, FROM … [AS name].
func parseDockerfile(t *testing.T, data []byte) (args []string, stages []dockerStage) {
	t.Helper()
	var logical []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		logical = append(logical, strings.Join(strings.Fields(cur.String()), " "))
		cur.Reset()
	}
	for _, l := range logical {
		f := strings.Fields(l)
		switch {
		case strings.EqualFold(f[0], "FROM"):
			st := dockerStage{from: f[1]}
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				st.name = f[3]
			}
			stages = append(stages, st)
		case len(stages) == 0:
			args = append(args, l)
		default:
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, l)
		}
	}
	return args, stages
}

func TestDockerfile(t *testing.T) {
	_, stages := parseDockerfile(t, readFile(t, "../Dockerfile"))
	if len(stages) < 3 {
		t.Fatalf("%d stages, want build, setcap and final", len(stages))
	}
	has := func(st dockerStage, re string) bool {
		r := regexp.MustCompile(re)
		return slices.ContainsFunc(st.lines, r.MatchString)
	}
	build := stages[0]
	if !strings.HasPrefix(build.from, "golang:") || !has(build, `CGO_ENABLED=0 go build .*\./cmd/dxwatch`) {
		t.Errorf("first stage %q: want a golang image building ./cmd/dxwatch with CGO_ENABLED=0", build.from)
	}
	final := stages[len(stages)-1]
	if !regexp.MustCompile(`^gcr\.io/distroless/static[-\w]*:nonroot$`).MatchString(final.from) {
		t.Errorf("final stage FROM %s, want distroless static :nonroot", final.from)
	}
	if !has(final, `^USER 65532:65532$`) {
		t.Error("final stage has no USER 65532:65532")
	}
	if has(final, `^RUN `) {
		t.Error("final stage runs commands; distroless has no shell")
	}
	var setcapStage string
	for _, st := range stages[:len(stages)-1] {
		if has(st, `setcap cap_net_raw\+ep /usr/local/bin/dxwatch`) {
			setcapStage = st.name
		}
	}
	if setcapStage == "" {
		t.Fatal("no stage runs setcap cap_net_raw+ep on the binary")
	}
	if !has(final, `^COPY --from=`+regexp.QuoteMeta(setcapStage)+` /usr/local/bin/dxwatch /usr/local/bin/dxwatch$`) {
		t.Errorf("final stage does not copy the binary from the %s stage", setcapStage)
	}
	// The state directory (--storage.path), owned by the nonroot user.
	if !has(final, `^VOLUME /var/lib/dxwatch$`) || !has(final, `^COPY --from=\S+ --chown=65532:65532 \S*/var/lib/ /var/lib/$`) ||
		!slices.ContainsFunc(stages[:len(stages)-1], func(st dockerStage) bool {
			return has(st, `install -d .*/var/lib/dxwatch$`)
		}) {
		t.Error("final stage: want VOLUME /var/lib/dxwatch, created in an earlier stage and copied with --chown=65532:65532")
	}
	if !has(final, `^ENTRYPOINT \["/usr/local/bin/dxwatch"\]$`) || !has(final, `^EXPOSE 9479$`) {
		t.Error("final stage: want ENTRYPOINT [\"/usr/local/bin/dxwatch\"] and EXPOSE 9479")
	}
	// The image says its licence, and it is the one in LICENSE.
	if !has(final, `^LABEL .*org\.opencontainers\.image\.licenses="Apache-2\.0"`) {
		t.Error(`final stage: want LABEL org.opencontainers.image.licenses="Apache-2.0"`)
	}
	if lic := string(readFile(t, "../LICENSE")); !strings.Contains(lic, "Apache License") || !strings.Contains(lic, "Version 2.0, January 2004") {
		t.Error("LICENSE is not the Apache License 2.0 that the image's label names")
	}

	ignore := string(readFile(t, "../.dockerignore"))
	for _, must := range []string{".git"} {
		if !slices.Contains(strings.Fields(ignore), must) {
			t.Errorf(".dockerignore does not exclude %s", must)
		}
	}
	for _, keep := range []string{"go.mod", "go.sum", "cmd", "agent", "probes", "dashboards"} {
		if slices.Contains(strings.Fields(ignore), keep) || slices.Contains(strings.Fields(ignore), keep+"/") {
			t.Errorf(".dockerignore excludes %s, which the build needs", keep)
		}
	}
}

// unitFile parses a systemd unit into section -> key -> values.
func unitFile(t *testing.T, data []byte) map[string]map[string][]string {
	t.Helper()
	u := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("unit line %q: not key=value in a section", line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

func TestSystemdUnit(t *testing.T) {
	data := readFile(t, "dxwatch.service")
	u := unitFile(t, data)
	svc := u["Service"]
	want := map[string]string{
		"User":                   "dxwatch",
		"AmbientCapabilities":    "CAP_NET_RAW",
		"CapabilityBoundingSet":  "CAP_NET_RAW",
		"NoNewPrivileges":        "true",
		"ProtectSystem":          "strict",
		"ProtectHome":            "true",
		"PrivateTmp":             "true",
		"PrivateDevices":         "true",
		"ProtectKernelTunables":  "true",
		"ProtectKernelModules":   "true",
		"ProtectControlGroups":   "true",
		"RestrictSUIDSGID":       "true",
		"LockPersonality":        "true",
		"MemoryDenyWriteExecute": "true",
		"ExecReload":             "/bin/kill -HUP $MAINPID",
		// The event history's directory (/var/lib/dxwatch), writable by
		// the dxwatch user despite ProtectSystem=strict.
		"StateDirectory": "dxwatch",
	}
	for k, v := range want {
		if got := svc[k]; len(got) != 1 || got[0] != v {
			t.Errorf("[Service] %s=%v, want %s", k, got, v)
		}
	}
	if got := svc["ExecStart"]; len(got) != 1 || !strings.HasPrefix(got[0], "/usr/local/bin/dxwatch run --config /etc/dxwatch/dxwatch.yaml") {
		t.Errorf("ExecStart=%v", got)
	}
	if svc["PrivateUsers"] != nil {
		t.Error("PrivateUsers would confine CAP_NET_RAW to a user namespace, useless on the host's network")
	}
	if fam := strings.Fields(strings.Join(svc["RestrictAddressFamilies"], " ")); !slices.Contains(fam, "AF_INET") || !slices.Contains(fam, "AF_INET6") {
		t.Errorf("RestrictAddressFamilies=%v must allow AF_INET and AF_INET6", fam)
	}
	if got := u["Install"]["WantedBy"]; len(got) != 1 || got[0] != "multi-user.target" {
		t.Errorf("[Install] WantedBy=%v", got)
	}
	users := string(readFile(t, "sysusers.d/dxwatch.conf"))
	if !regexp.MustCompile(`(?m)^u dxwatch `).MatchString(users) {
		t.Error("sysusers.d/dxwatch.conf does not create the dxwatch user")
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (apt-get install systemd): unit not verified")
	}
	// verify checks that the binaries exist: point the unit at one that does.
	tru, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1) to stand in for the dxwatch binary")
	}
	unit := filepath.Join(t.TempDir(), "dxwatch.service")
	if err := os.WriteFile(unit, bytes.ReplaceAll(data, []byte("/usr/local/bin/dxwatch"), []byte(tru)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
