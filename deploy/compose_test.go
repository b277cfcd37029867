package deploy

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/bidsieve/bidsieve/config"
)

// composeService is the part of a compose service this test reads; the file is decoded
// loosely otherwise (the compose specification has many more keys).
type composeService struct {
	Image           string            `yaml:"image"`
	Command         []string          `yaml:"command"`
	Ports           []string          `yaml:"ports"`
	Environment     map[string]string `yaml:"environment"`
	Volumes         []string          `yaml:"volumes"`
	StopGracePeriod string            `yaml:"stop_grace_period"`
	DependsOn       yaml.Node         `yaml:"depends_on"`
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	readYAML(t, "compose.yaml", &c) // merge keys (<<: *bidsieve) resolved by the decoder
	return c
}

// dependsOn lists a service's dependencies, in either of compose's two forms.
func (s composeService) dependsOn() []string {
	var out []string
	switch s.DependsOn.Kind {
	case yaml.SequenceNode:
		for _, n := range s.DependsOn.Content {
			out = append(out, n.Value)
		}
	case yaml.MappingNode:
		for i := 0; i < len(s.DependsOn.Content); i += 2 {
			out = append(out, s.DependsOn.Content[i].Value)
		}
	}
	return out
}

// mount returns the host side of the bind mount (or volume) whose container side is dst.
func (s composeService) mount(dst string) string {
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == dst {
			return parts[0]
		}
	}
	return ""
}

// containerPorts lists the container side of each published port.
func (s composeService) containerPorts() []string {
	var out []string
	for _, p := range s.Ports {
		parts := strings.Split(p, ":")
		out = append(out, parts[len(parts)-1])
	}
	return out
}

// bidsieveCommands are the subcommands cmd/bidsieve/main.go declares.
func bidsieveCommands(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("../cmd/bidsieve/main.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`\{"([a-z][a-z-]*)", "`).FindAllStringSubmatch(string(src), -1) {
		out = append(out, m[1])
	}
	if !slices.Contains(out, "serve") {
		t.Fatalf("no serve command found in main.go (%v): the pattern is out of date", out)
	}
	return out
}

// The compose stack has the fleet's parts, wired as the Kubernetes manifests wire the
// gateway: the same image, command, ports and configuration, with a stop grace period
// that covers the drain.
func TestComposeMatchesTheManifests(t *testing.T) {
	c := readCompose(t)
	for _, want := range []string{"gateway", "dsp-sim", "kafka", "bidlog-sink", "postgres", "prometheus", "grafana", "otel-collector"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("compose.yaml has no %s service", want)
		}
	}
	// Every dependency and named volume exists; every bind-mounted file is in the repo.
	for name, s := range c.Services {
		for _, d := range s.dependsOn() {
			if _, ok := c.Services[d]; !ok {
				t.Errorf("service %s depends on %s, which is not defined", name, d)
			}
		}
		for _, v := range s.Volumes {
			src := strings.Split(v, ":")[0]
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("service %s mounts volume %s, which is not declared", name, src)
			}
		}
	}
	// Services running the bidsieve image run one of its commands.
	cmds := bidsieveCommands(t)
	for name, s := range c.Services {
		if s.Image != "bidsieve:dev" {
			continue
		}
		if len(s.Command) == 0 || !slices.Contains(cmds, s.Command[0]) {
			t.Errorf("service %s runs %v: not a bidsieve command (%v)", name, s.Command, cmds)
		}
	}

	// Kafka in KRaft mode: broker and controller in one node, no ZooKeeper.
	kafka := c.Services["kafka"].Environment
	if !strings.Contains(kafka["KAFKA_PROCESS_ROLES"], "controller") || !strings.Contains(kafka["KAFKA_PROCESS_ROLES"], "broker") || kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "" {
		t.Errorf("kafka is not a KRaft node: %v", kafka)
	}
	for name := range c.Services {
		if strings.Contains(name, "zookeeper") {
			t.Errorf("service %s: KRaft needs no ZooKeeper", name)
		}
	}
	sink := c.Services["bidlog-sink"].Command
	if brokers := flagValue(sink, "--brokers"); !strings.HasPrefix(brokers, "kafka:") || !strings.Contains(kafka["KAFKA_ADVERTISED_LISTENERS"], brokers) {
		t.Errorf("bidlog-sink reads brokers %q; kafka advertises %q", brokers, kafka["KAFKA_ADVERTISED_LISTENERS"])
	}
	if flagValue(sink, "--topic") == "" || flagValue(sink, "--group") == "" || flagValue(sink, "--out") == "" {
		t.Errorf("bidlog-sink command %v: --topic, --group and --out are needed", sink)
	}

	// The gateway: image, command and ports of the Deployment.
	gw := c.Services["gateway"]
	m := typedManifests(t)
	dep := m["Deployment/bidsieve"].(*appsv1.Deployment)
	ctr := dep.Spec.Template.Spec.Containers[0]
	if gw.Image != ctr.Image {
		t.Errorf("compose runs image %s, the Deployment %s", gw.Image, ctr.Image)
	}
	if !slices.Equal(gw.Command, ctr.Args) {
		t.Errorf("compose runs %v, the Deployment %v", gw.Command, ctr.Args)
	}
	for _, p := range ctr.Ports {
		if !slices.Contains(gw.containerPorts(), strconv.Itoa(int(p.ContainerPort))) {
			t.Errorf("compose does not publish the Deployment's %s port %d (ports %v)", p.Name, p.ContainerPort, gw.Ports)
		}
	}

	// Its configuration is one bidsieve accepts, with the compose environment, and it
	// agrees with the ConfigMap's on everything but the DSPs and the store's address.
	cfgPath := gw.mount(ctr.Args[len(ctr.Args)-1])
	if cfgPath == "" {
		t.Fatalf("compose mounts nothing at %s", ctr.Args[len(ctr.Args)-1])
	}
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := config.Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", cfgPath, err)
	}
	var env []string
	for k, v := range gw.Environment {
		env = append(env, k+"="+v)
	}
	if err := cc.ApplyEnv(env); err != nil {
		t.Fatalf("compose environment: %v", err)
	}
	if err := cc.Validate(); err != nil {
		t.Fatalf("%s: %v", cfgPath, err)
	}
	if cc.Store.Postgres == "" {
		t.Error("the compose gateway keeps its settings outside PostgreSQL")
	} else if u, err := url.Parse(cc.Store.Postgres); err != nil || serviceOf(u.Host) != "postgres" {
		t.Errorf("store.postgres %q does not reach the postgres service", cc.Store.Postgres)
	}
	cm := m["ConfigMap/bidsieve"].(*corev1.ConfigMap)
	kc, err := config.Parse([]byte(cm.Data["bidsieve.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	same := []struct {
		key     string
		compose any
		k8s     any
	}{
		{"listen", cc.Listen, kc.Listen},
		{"admin_listen", cc.AdminListen, kc.AdminListen},
		{"server", cc.Server, kc.Server},
		{"auction", cc.Auction, kc.Auction},
		{"shaping", cc.Shaping, kc.Shaping},
		{"model.path", cc.Model.Path, kc.Model.Path},
		{"bidlog.dir", cc.BidLog.Dir, kc.BidLog.Dir},
		{"bidlog.kafka.topic", cc.BidLog.Kafka.Topic, kc.BidLog.Kafka.Topic},
		{"bidlog.kafka.compression", cc.BidLog.Kafka.Compression, kc.BidLog.Kafka.Compression},
		{"log", cc.Log, kc.Log},
		{"tracing.exporter", cc.Tracing.Exporter, kc.Tracing.Exporter},
		{"tracing.sample_ratio", cc.Tracing.SampleRatio, kc.Tracing.SampleRatio},
	}
	for _, s := range same {
		if s.compose != s.k8s {
			t.Errorf("%s: compose %v, ConfigMap %v", s.key, s.compose, s.k8s)
		}
	}
	// The gateway produces to the topic bidlog-sink consumes, on the kafka service.
	if !cc.BidLog.Kafka.Enabled() || serviceOf(cc.BidLog.Kafka.Brokers[0]) != "kafka" {
		t.Errorf("the compose gateway's bid log does not go to the kafka service: %v", cc.BidLog.Kafka.Brokers)
	}
	if got := flagValue(c.Services["bidlog-sink"].Command, "--topic"); got != cc.BidLog.Kafka.Topic {
		t.Errorf("bidlog-sink consumes %q; the gateway produces to %q", got, cc.BidLog.Kafka.Topic)
	}
	if gw.mount(filepath.Dir(cc.Model.Path)) == "" || gw.mount(filepath.Dir(cc.BidLog.Dir)) == "" {
		t.Errorf("model %s or bid log %s is not on a volume", cc.Model.Path, cc.BidLog.Dir)
	}

	// The drain fits in the stop grace period, as in the Deployment.
	grace, err := time.ParseDuration(gw.StopGracePeriod)
	if err != nil || grace < cc.Server.DrainTimeout {
		t.Errorf("gateway stop_grace_period %q: want at least server.drain_timeout %v (docker stop sends SIGKILL then)", gw.StopGracePeriod, cc.Server.DrainTimeout)
	}
	if k8sGrace := time.Duration(*dep.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second; grace != k8sGrace {
		t.Errorf("stop_grace_period %v differs from terminationGracePeriodSeconds %v", grace, k8sGrace)
	}

	// DSP endpoints reach dsp-sim where it listens.
	simListen := flagValue(c.Services["dsp-sim"].Command, "--listen")
	_, simPort, _ := net.SplitHostPort(simListen)
	for _, d := range cc.DSPs {
		u, err := url.Parse(d.Endpoint)
		if err != nil || u.Hostname() != "dsp-sim" || u.Port() != simPort || u.Path != "/bid/"+d.Name {
			t.Errorf("DSP %s endpoint %s: want http://dsp-sim:%s/bid/%s", d.Name, d.Endpoint, simPort, d.Name)
		}
	}

	// Traces go to the collector's OTLP/HTTP receiver.
	var col struct {
		Receivers struct {
			OTLP struct {
				Protocols struct {
					HTTP struct {
						Endpoint string `yaml:"endpoint"`
					} `yaml:"http"`
				} `yaml:"protocols"`
			} `yaml:"otlp"`
		} `yaml:"receivers"`
		Service struct {
			Pipelines map[string]struct {
				Receivers []string `yaml:"receivers"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	colPath := c.Services["otel-collector"].mount("/etc/otelcol/config.yaml")
	readYAML(t, colPath, &col)
	_, colPort, _ := net.SplitHostPort(col.Receivers.OTLP.Protocols.HTTP.Endpoint)
	if u, err := url.Parse(cc.Tracing.Endpoint); err != nil || u.Hostname() != "otel-collector" || u.Port() != colPort || u.Path != "/v1/traces" {
		t.Errorf("tracing.endpoint %s: want http://otel-collector:%s/v1/traces", cc.Tracing.Endpoint, colPort)
	}
	if !slices.Contains(col.Service.Pipelines["traces"].Receivers, "otlp") {
		t.Error("the collector's traces pipeline does not receive otlp")
	}

	// Prometheus scrapes the gateway where /metrics is, with the alert rules; Grafana
	// gets the dashboard where its provisioning looks.
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	ps := c.Services["prometheus"]
	readYAML(t, ps.mount("/etc/prometheus/prometheus.yml"), &prom)
	var scrapesGateway bool
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			scrapesGateway = scrapesGateway || (sc.JobName == "bidsieve" && slices.Contains(st.Targets, "gateway"+cc.Listen))
		}
	}
	if !scrapesGateway {
		t.Errorf("Prometheus does not scrape gateway%s under job bidsieve (the alerts' job)", cc.Listen)
	}
	for _, rf := range prom.RuleFiles {
		if ps.mount(filepath.Join("/etc/prometheus", rf)) == "" {
			t.Errorf("rule file %s is not mounted beside prometheus.yml", rf)
		}
	}
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "grafana/provisioning/dashboards/bidsieve.yaml", &prov)
	gs := c.Services["grafana"]
	if len(prov.Providers) == 0 || gs.mount(prov.Providers[0].Options.Path+"/bidsieve.json") != "./grafana/bidsieve.json" {
		t.Error("Grafana does not get grafana/bidsieve.json where its dashboard provider reads")
	}
	if gs.mount("/etc/grafana/provisioning") != "./grafana/provisioning" {
		t.Error("Grafana's provisioning folder is not mounted")
	}
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func serviceOf(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return h
}
