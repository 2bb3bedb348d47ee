package bgp

import (
	"fmt"
	"net/netip"

	gobgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// pathAttrs is what dxwatch keeps of a path's attributes.
type pathAttrs struct {
	NextHop      netip.Addr
	ASPath       []uint32 // flattened, in order
	ASPathLen    int      // for the decision process: an AS_SET counts as one
	Prepends     int      // repeated consecutive ASNs (prepending)
	LocalPref    uint32
	HasLocalPref bool
	MED          uint32
	HasMED       bool
	Origin       uint8
	Communities  []uint32
}

// nextHop returns the path's next hop without decoding anything else: the
// one attribute needed for every path, even in a full table.
func nextHop(attrs []gobgp.PathAttributeInterface) netip.Addr {
	for _, a := range attrs {
		switch v := a.(type) {
		case *gobgp.PathAttributeNextHop:
			return v.Value.Unmap()
		case *gobgp.PathAttributeMpReachNLRI:
			return v.Nexthop.Unmap()
		}
	}
	return netip.Addr{}
}

func decodeAttrs(attrs []gobgp.PathAttributeInterface) pathAttrs {
	var pa pathAttrs
	for _, a := range attrs {
		switch v := a.(type) {
		case *gobgp.PathAttributeNextHop:
			pa.NextHop = v.Value.Unmap()
		case *gobgp.PathAttributeMpReachNLRI:
			pa.NextHop = v.Nexthop.Unmap()
		case *gobgp.PathAttributeAsPath:
			for _, seg := range v.Value {
				as := seg.GetAS()
				switch seg.GetType() {
				case gobgp.BGP_ASPATH_ATTR_TYPE_SEQ:
					pa.ASPathLen += len(as)
				case gobgp.BGP_ASPATH_ATTR_TYPE_SET:
					pa.ASPathLen++
				}
				pa.ASPath = append(pa.ASPath, as...)
			}
			pa.Prepends = prepends(pa.ASPath)
		case *gobgp.PathAttributeLocalPref:
			pa.LocalPref, pa.HasLocalPref = v.Value, true
		case *gobgp.PathAttributeMultiExitDisc:
			pa.MED, pa.HasMED = v.Value, true
		case *gobgp.PathAttributeOrigin:
			pa.Origin = v.Value
		case *gobgp.PathAttributeCommunities:
			pa.Communities = append([]uint32(nil), v.Value...)
		}
	}
	return pa
}

// prepends counts the ASNs that repeat the one before them: AWS's or the
// edge's AS_PATH prepending.
func prepends(path []uint32) int {
	n := 0
	for i := 1; i < len(path); i++ {
		if path[i] == path[i-1] {
			n++
		}
	}
	return n
}

// effectiveLocalPref is the local preference used in the decision: 100
// when the path carries none (eBGP, or BMP pre-policy).
func (pa pathAttrs) effectiveLocalPref() uint32 {
	if pa.HasLocalPref {
		return pa.LocalPref
	}
	return 100
}

// neighborAS is the first ASN of the AS_PATH after any of localASN (an
// edge that prepends its own ASN on import), 0 when none.
func (pa pathAttrs) neighborAS(localASN uint32) uint32 {
	for _, as := range pa.ASPath {
		if as != localASN {
			return as
		}
	}
	return 0
}

// Well-known AWS Direct Connect communities.
var awsCommunities = map[uint32]string{
	7224<<16 | 7100: "aws_local_pref_low",
	7224<<16 | 7200: "aws_local_pref_medium",
	7224<<16 | 7300: "aws_local_pref_high",
	7224<<16 | 8100: "aws_same_region",
	7224<<16 | 8200: "aws_same_continent",
	7224<<16 | 9100: "aws_scope_local_region",
	7224<<16 | 9200: "aws_scope_continent",
	7224<<16 | 9300: "aws_scope_global",
	0xFFFFFF01:      "no_export",
	0xFFFFFF02:      "no_advertise",
}

// Community is a standard community as the API shows it.
type Community struct {
	Value string `json:"value"`
	Name  string `json:"name,omitempty"`
}

func communities(cs []uint32) []Community {
	if len(cs) == 0 {
		return nil
	}
	out := make([]Community, len(cs))
	for i, c := range cs {
		out[i] = Community{Value: fmt.Sprintf("%d:%d", c>>16, c&0xffff), Name: awsCommunities[c]}
	}
	return out
}

var originNames = [...]string{"igp", "egp", "incomplete"}

func originName(o uint8) string {
	if int(o) < len(originNames) {
		return originNames[o]
	}
	return fmt.Sprintf("origin_%d", o)
}

// compare orders two paths of one prefix by the BGP decision process steps
// that express routing intent: local preference, AS_PATH length, origin,
// MED (same neighbor AS). It returns <0 when a is preferred, >0 when b is,
// and 0 when they are equally preferred (only a tie-break separates them).
func compare(a, b *pathAttrs, localASN uint32) (int, string) {
	if la, lb := a.effectiveLocalPref(), b.effectiveLocalPref(); la != lb {
		if la > lb {
			return -1, "local preference"
		}
		return 1, "local preference"
	}
	if a.ASPathLen != b.ASPathLen {
		if a.ASPathLen < b.ASPathLen {
			return -1, "AS_PATH length"
		}
		return 1, "AS_PATH length"
	}
	if a.Origin != b.Origin {
		if a.Origin < b.Origin {
			return -1, "origin"
		}
		return 1, "origin"
	}
	if a.neighborAS(localASN) == b.neighborAS(localASN) && a.MED != b.MED {
		if a.MED < b.MED {
			return -1, "MED"
		}
		return 1, "MED"
	}
	return 0, ""
}
