package lab

import (
	"bytes"
	"fmt"
	"text/template"
)

// FRR configuration of each router, one file per daemon (each daemon reads
// only its own, so no daemon trips over another's commands).

// frrBase holds what every config starts with: "head" (the file's
// preamble) and "bgp" (the router bgp stanza's first lines).
var frrBase = template.Must(template.New("base").Parse(`{{define "head"}}frr defaults traditional
hostname {{.Host}}
log timestamp precision 3
!
{{end}}{{define "bgp"}}router bgp {{.ASN}}
 bgp router-id {{.RouterID}}
 coalesce-time 100{{end}}`))

// frrTemplate parses one router config on top of frrBase.
func frrTemplate(name, text string) *template.Template {
	return template.Must(template.Must(frrBase.Clone()).New(name).Parse(text))
}

// edgeTmpl renders an on-prem edge router's bgpd.conf. The routing intent
// lives in four route-maps that SetMode rewrites: FROM-PRIMARY raises the
// primary's routes to local-pref 200, TO-SECONDARY prepends our ASN twice so
// AWS (and its VPC router) prefer the primary for the return path.
// soft-reconfiguration inbound keeps the Adj-RIB-In that BMP's pre-policy
// dump is made from. The agent's session (IPv4 transport) carries both
// families, each with ADD-PATH send: the agent is a route-reflector client,
// so every path goes to it with its next hop unchanged, the link's Amazon
// address of the family (an IPv6 route's global next hop, as FROM-<link>
// prefers it), which names the link. With probe sources, each link's /32
// is originated and let out by that link's TO- route-map only (entry 20,
// its own prefix-list), so AWS reaches it over that link alone.
var edgeTmpl = frrTemplate("edge", `{{define "dx-policy"}}
  neighbor {{.Amazon}} soft-reconfiguration inbound
  neighbor {{.Amazon}} route-map FROM-{{.MapName}} in
  neighbor {{.Amazon}} route-map TO-{{.MapName}} out
{{- end}}{{template "head" .}}ip prefix-list ONPREM seq 5 permit {{.OnPrem}}
ipv6 prefix-list ONPREM6 seq 5 permit {{.OnPrem6}}
!
route-map FROM-PRIMARY permit 10
{{- if .ActivePassive}}
 set local-preference 200
{{- end}}
 set ipv6 next-hop prefer-global
exit
!
route-map FROM-SECONDARY permit 10
 set ipv6 next-hop prefer-global
exit
!
route-map PREFER-GLOBAL permit 10
 set ipv6 next-hop prefer-global
exit
!
route-map TO-PRIMARY permit 10
 match ip address prefix-list ONPREM
exit
!
route-map TO-PRIMARY permit 15
 match ipv6 address prefix-list ONPREM6
exit
!
route-map TO-SECONDARY permit 10
 match ip address prefix-list ONPREM
{{- if .ActivePassive}}
 set as-path prepend {{.ASN}} {{.ASN}}
{{- end}}
exit
!
route-map TO-SECONDARY permit 15
 match ipv6 address prefix-list ONPREM6
{{- if .ActivePassive}}
 set as-path prepend {{.ASN}} {{.ASN}}
{{- end}}
exit
!
{{- range .Links}}{{if .ProbeSource}}
ip prefix-list PROBE-SOURCE-{{.MapName}} seq 5 permit {{.ProbeSource}}/32
!
route-map TO-{{.MapName}} permit 20
 match ip address prefix-list PROBE-SOURCE-{{.MapName}}
exit
!
{{- end}}{{end}}
{{template "bgp" .}}
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp route-map delay-timer 0
{{- range .Links}}{{range .Peerings}}
 neighbor {{.Amazon}} remote-as {{$.AmazonASN}}
 neighbor {{.Amazon}} description {{.Desc}}
 neighbor {{.Amazon}} password {{.MD5}}
 neighbor {{.Amazon}} timers connect 1
 neighbor {{.Amazon}} advertisement-interval 0
{{- if $.BFD}}
 neighbor {{.Amazon}} bfd profile dx
{{- end}}
{{- end}}{{end}}
{{- range .Peers}}
 neighbor {{.Address}} remote-as {{$.ASN}}
 neighbor {{.Address}} description {{.Name}}
 neighbor {{.Address}} timers connect 1
 neighbor {{.Address}} advertisement-interval 0
 neighbor {{.Address6}} remote-as {{$.ASN}}
 neighbor {{.Address6}} description {{.Name}}-ipv6
 neighbor {{.Address6}} timers connect 1
 neighbor {{.Address6}} advertisement-interval 0
{{- end}}
 neighbor {{.Agent}} remote-as {{.ASN}}
 neighbor {{.Agent}} description agent
 neighbor {{.Agent}} passive
 neighbor {{.Agent}} advertisement-interval 0
{{- if .AgentMD5}}
 neighbor {{.Agent}} password {{.AgentMD5}}
{{- end}}
 !
 address-family ipv4 unicast
  network {{.OnPrem}}
{{- range .Links}}{{if .ProbeSource}}
  network {{.ProbeSource}}/32
{{- end}}{{end}}
  maximum-paths 2
  maximum-paths ibgp 2
{{- range .Links}}{{template "dx-policy" index .Peerings 0}}{{end}}
{{- range .Peers}}
  neighbor {{.Address}} soft-reconfiguration inbound
  neighbor {{.Address}} addpath-tx-all-paths
{{- end}}
  neighbor {{.Agent}} route-reflector-client
  neighbor {{.Agent}} addpath-tx-all-paths
{{- range .Links}}
  no neighbor {{.Amazon6}} activate
{{- end}}
{{- range .Peers}}
  no neighbor {{.Address6}} activate
{{- end}}
 exit-address-family
 !
 address-family ipv6 unicast
  network {{.OnPrem6}}
  maximum-paths 2
  maximum-paths ibgp 2
{{- range .Links}}
  neighbor {{.Amazon6}} activate{{template "dx-policy" index .Peerings 1}}{{end}}
{{- range .Peers}}
  neighbor {{.Address6}} activate
  neighbor {{.Address6}} soft-reconfiguration inbound
  neighbor {{.Address6}} route-map PREFER-GLOBAL in
{{- end}}
  neighbor {{.Agent}} activate
  neighbor {{.Agent}} route-reflector-client
  neighbor {{.Agent}} addpath-tx-all-paths
 exit-address-family
 !
 bmp targets agent
  bmp monitor ipv4 unicast pre-policy
  bmp monitor ipv4 unicast post-policy
  bmp monitor ipv6 unicast pre-policy
  bmp monitor ipv6 unicast post-policy
  bmp connect {{.Agent}} port {{.BMPPort}} min-retry 100 max-retry 2000
 exit
exit
!
`)

// awsTmpl renders an "AWS" router's bgpd.conf: eBGP to the customer over
// the link with AWS's timers and MD5, BFD passive, the VPC CIDR originated,
// on-prem routes passed to the VPC router (their route reflector) with
// next-hop-self, and AWS's local-preference communities honoured. Through
// the reflector each AWS router also learns the other's on-prem paths (next
// hop the other's transit address, reached through the VPC router) and
// picks among its own and those by local preference, AS_PATH length, then
// eBGP over iBGP: one preference for the whole Amazon side.
var awsTmpl = frrTemplate("aws", `{{template "head" .}}ip prefix-list VPC seq 5 permit {{.VPCRange}} le 32
ipv6 prefix-list VPC6 seq 5 permit {{.VPCCIDR6}} le 128
!
bgp community-list standard AWS-LOW seq 5 permit 7224:7100
bgp community-list standard AWS-MEDIUM seq 5 permit 7224:7200
bgp community-list standard AWS-HIGH seq 5 permit 7224:7300
!
route-map FROM-CUSTOMER permit 10
 match community AWS-HIGH
 set local-preference 300
exit
!
route-map FROM-CUSTOMER permit 20
 match community AWS-MEDIUM
 set local-preference 200
exit
!
route-map FROM-CUSTOMER permit 30
 match community AWS-LOW
 set local-preference 100
exit
!
route-map FROM-CUSTOMER permit 40
exit
!
route-map FROM-CUSTOMER6 permit 10
 set ipv6 next-hop prefer-global
 call FROM-CUSTOMER
exit
!
route-map PREFER-GLOBAL permit 10
 set ipv6 next-hop prefer-global
exit
!
route-map TO-CUSTOMER permit 10
 match ip address prefix-list VPC
exit
!
route-map TO-CUSTOMER permit 15
 match ipv6 address prefix-list VPC6
exit
!
route-map TO-VPC deny 10
 match ip address prefix-list VPC
exit
!
route-map TO-VPC deny 15
 match ipv6 address prefix-list VPC6
exit
!
route-map TO-VPC permit 20
exit
!
{{template "bgp" .}}
 no bgp ebgp-requires-policy
 no bgp network import-check
{{- range .Link.Peerings}}
 neighbor {{.Customer}} remote-as {{$.CustomerASN}}
 neighbor {{.Customer}} description {{.Desc}}
 neighbor {{.Customer}} password {{.MD5}}
 neighbor {{.Customer}} timers 30 90
 neighbor {{.Customer}} timers connect 1
 neighbor {{.Customer}} advertisement-interval 0
{{- if $.BFD}}
 neighbor {{.Customer}} bfd profile aws
{{- end}}
{{- end}}
 neighbor {{.VPCPeer}} remote-as {{.ASN}}
 neighbor {{.VPCPeer}} description vpc
 neighbor {{.VPCPeer}} timers connect 1
 neighbor {{.VPCPeer}} advertisement-interval 0
 neighbor {{.VPCPeer6}} remote-as {{.ASN}}
 neighbor {{.VPCPeer6}} description vpc-ipv6
 neighbor {{.VPCPeer6}} timers connect 1
 neighbor {{.VPCPeer6}} advertisement-interval 0
 !
 address-family ipv4 unicast
  network {{.VPCCIDR}}
  neighbor {{.Link.Customer}} route-map FROM-CUSTOMER in
  neighbor {{.Link.Customer}} route-map TO-CUSTOMER out
  neighbor {{.VPCPeer}} next-hop-self
  neighbor {{.VPCPeer}} route-map TO-VPC out
  no neighbor {{.Link.Customer6}} activate
  no neighbor {{.VPCPeer6}} activate
 exit-address-family
 !
 address-family ipv6 unicast
  network {{.VPCCIDR6}}
  neighbor {{.Link.Customer6}} activate
  neighbor {{.Link.Customer6}} route-map FROM-CUSTOMER6 in
  neighbor {{.Link.Customer6}} route-map TO-CUSTOMER out
  neighbor {{.VPCPeer6}} activate
  neighbor {{.VPCPeer6}} next-hop-self
  neighbor {{.VPCPeer6}} route-map PREFER-GLOBAL in
  neighbor {{.VPCPeer6}} route-map TO-VPC out
 exit-address-family
exit
!
`)

// vpcTmpl renders the VPC router's bgpd.conf: iBGP with both AWS routers
// and their route reflector, so that the Amazon side is one routing domain
// as behind a Direct Connect gateway: each AWS router also holds the other's
// path to on-prem and returns traffic by the domain's preference (in
// active/passive, aws2 sends replies to on-prem through aws1 and the
// primary). Its own best path (or both, in active/active) decides the
// return link of traffic from the VPC.
var vpcTmpl = frrTemplate("vpc", `{{template "head" .}}route-map PREFER-GLOBAL permit 10
 set ipv6 next-hop prefer-global
exit
!
{{template "bgp" .}}
{{- range .Peers}}
 neighbor {{.Address}} remote-as {{$.ASN}}
 neighbor {{.Address}} description {{.Name}}
 neighbor {{.Address}} timers connect 1
 neighbor {{.Address}} advertisement-interval 0
 neighbor {{.Address6}} remote-as {{$.ASN}}
 neighbor {{.Address6}} description {{.Name}}-ipv6
 neighbor {{.Address6}} timers connect 1
 neighbor {{.Address6}} advertisement-interval 0
{{- end}}
 !
 address-family ipv4 unicast
  maximum-paths ibgp 2
{{- range .Peers}}
  neighbor {{.Address}} route-reflector-client
  no neighbor {{.Address6}} activate
{{- end}}
 exit-address-family
 !
 address-family ipv6 unicast
  maximum-paths ibgp 2
{{- range .Peers}}
  neighbor {{.Address6}} activate
  neighbor {{.Address6}} route-reflector-client
  neighbor {{.Address6}} route-map PREFER-GLOBAL in
{{- end}}
 exit-address-family
exit
!
`)

// speakerTmpl renders the bgpd.conf of a throwaway BGP speaker on the agent
// host, used by the lab's own test to see what the edges send the agent.
var speakerTmpl = frrTemplate("speaker", `{{template "head" .}}{{template "bgp" .}}
{{- range .Peers}}
 neighbor {{.Address}} remote-as {{$.ASN}}
 neighbor {{.Address}} description {{.Name}}
 neighbor {{.Address}} timers connect 1
{{- if $.AgentMD5}}
 neighbor {{.Address}} password {{$.AgentMD5}}
{{- end}}
{{- end}}
exit
!
`)

// bfdTmpl renders bfdd.conf: AWS's 300 ms x 3, passive on the AWS side.
var bfdTmpl = frrTemplate("bfd", `{{template "head" .}}bfd
 profile {{.Profile}}
  detect-multiplier 3
  receive-interval 300
  transmit-interval 300
{{- if .Passive}}
  passive-mode
{{- end}}
 exit
 !
exit
!
`)

// peer is a named BGP neighbor in a template, with its IPv6 address (a
// session of its own) where the router peers in both families.
type peer struct{ Name, Address, Address6 string }

// routerConfig is what a router's daemons read at start.
type routerConfig struct {
	Zebra string
	BGP   string
	BFD   string // empty: bfdd does not run
}

// renderRouter renders the configuration files of router h.
func (t *topology) renderRouter(h, mode string) (routerConfig, error) {
	var c routerConfig
	c.Zebra = fmt.Sprintf("frr defaults traditional\nhostname %s\nlog timestamp precision 3\n!\n", h)
	var buf bytes.Buffer
	bfdProfile, bfdPassive := "", false
	switch h {
	case HostEdge1, HostEdge2:
		data := struct {
			Host, RouterID, OnPrem, OnPrem6, Agent, AgentMD5 string
			ASN, AmazonASN, BMPPort                          int
			ActivePassive, BFD                               bool
			Links                                            []link
			Peers                                            []peer
		}{
			Host: h, RouterID: Edge1LAN, OnPrem: OnPremPrefix, OnPrem6: OnPremPrefix6, Agent: AgentAddress,
			ASN: OnPremASN, AmazonASN: AmazonASN, BMPPort: BMPPort,
			ActivePassive: mode != ModeActiveActive, BFD: !t.NoBFD,
		}
		if h == HostEdge2 {
			data.RouterID = Edge2LAN
		}
		if t.AgentMD5 {
			data.AgentMD5 = AgentMD5
		}
		for _, l := range t.Links {
			if l.Edge == h {
				data.Links = append(data.Links, l)
			}
		}
		if t.Edge == EdgeTwo {
			if h == HostEdge1 {
				data.Peers = []peer{{HostEdge2, Edge2LAN, Edge2LAN6}}
			} else {
				data.Peers = []peer{{HostEdge1, Edge1LAN, Edge1LAN6}}
			}
		}
		if err := edgeTmpl.Execute(&buf, data); err != nil {
			return c, fmt.Errorf("render %s bgpd.conf: %w", h, err)
		}
		bfdProfile = "dx"
	case HostAWS1, HostAWS2:
		var l link
		for _, x := range t.Links {
			if x.AWS == h {
				l = x
			}
		}
		vpcPeer, vpcPeer6 := VPCTransit1, VPCTransit1v6
		if h == HostAWS2 {
			vpcPeer, vpcPeer6 = VPCTransit2, VPCTransit2v6
		}
		data := struct {
			Host, RouterID, VPCPeer, VPCPeer6, VPCCIDR, VPCCIDR6, VPCRange string
			ASN, CustomerASN                                               int
			BFD                                                            bool
			Link                                                           link
		}{
			Host: h, RouterID: l.Amazon, VPCPeer: vpcPeer, VPCPeer6: vpcPeer6, VPCCIDR: VPCCIDR, VPCCIDR6: VPCCIDR6, VPCRange: "198.18.0.0/15",
			ASN: AmazonASN, CustomerASN: OnPremASN, BFD: !t.NoBFD, Link: l,
		}
		if err := awsTmpl.Execute(&buf, data); err != nil {
			return c, fmt.Errorf("render %s bgpd.conf: %w", h, err)
		}
		bfdProfile, bfdPassive = "aws", true
	case HostVPC:
		data := struct {
			Host, RouterID string
			ASN            int
			Peers          []peer
		}{Host: h, RouterID: VPCRouter, ASN: AmazonASN, Peers: []peer{{HostAWS1, AWS1Transit, AWS1Transit6}, {HostAWS2, AWS2Transit, AWS2Transit6}}}
		if err := vpcTmpl.Execute(&buf, data); err != nil {
			return c, fmt.Errorf("render %s bgpd.conf: %w", h, err)
		}
	default:
		return c, fmt.Errorf("render %s: not a router", h)
	}
	c.BGP = buf.String()
	if bfdProfile != "" && !t.NoBFD {
		buf.Reset()
		data := struct {
			Host, Profile string
			Passive       bool
		}{h, bfdProfile, bfdPassive}
		if err := bfdTmpl.Execute(&buf, data); err != nil {
			return c, fmt.Errorf("render %s bfdd.conf: %w", h, err)
		}
		c.BFD = buf.String()
	}
	return c, nil
}

// renderSpeaker renders the bgpd.conf of a test speaker on the agent host
// that peers with every edge router.
func (t *topology) renderSpeaker() (string, error) {
	data := struct {
		Host, RouterID, AgentMD5 string
		ASN                      int
		Peers                    []peer
	}{Host: HostAgent, RouterID: AgentAddress, ASN: OnPremASN}
	if t.AgentMD5 {
		data.AgentMD5 = AgentMD5
	}
	for _, e := range t.edges() {
		addr := Edge1LAN
		if e == HostEdge2 {
			addr = Edge2LAN
		}
		data.Peers = append(data.Peers, peer{Name: e, Address: addr})
	}
	var buf bytes.Buffer
	if err := speakerTmpl.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("render speaker bgpd.conf: %w", err)
	}
	return buf.String(), nil
}

// modeCommands returns the vtysh configuration lines that switch an edge
// router's route-maps to mode (and keep FaultNoPrepend if it is in place).
func (l *Lab) modeCommands(mode string) []string {
	cmds := []string{"configure terminal", "route-map FROM-PRIMARY permit 10"}
	if mode == ModeActiveActive {
		cmds = append(cmds, "no set local-preference")
	} else {
		cmds = append(cmds, "set local-preference 200")
	}
	// Entry 10 of TO-SECONDARY lets out the IPv4 on-prem prefix, 15 the
	// IPv6 one: both families follow the mode.
	for _, entry := range []string{"10", "15"} {
		cmds = append(cmds, "exit", "route-map TO-SECONDARY permit "+entry)
		if mode == ModeActiveActive || l.hasFault(FaultNoPrepend, "") {
			cmds = append(cmds, "no set as-path prepend")
		} else {
			cmds = append(cmds, fmt.Sprintf("set as-path prepend %d %d", OnPremASN, OnPremASN))
		}
	}
	return append(cmds, "exit", "end", "clear bgp ipv4 unicast * soft", "clear bgp ipv6 unicast * soft")
}
