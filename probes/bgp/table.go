package bgp

import "net/netip"

// The route table is built for a full Internet table from each edge router
// (1M prefixes, several paths each) at a few dozen bytes per prefix: keys
// and values hold no pointers, so the garbage collector never scans them.
// It keeps, per prefix, which source sent which path ID over which link;
// attributes are kept only for the prefixes that matter (relevant: the
// expected VPC prefixes, what covers them, their more-specifics).

// pkey is a prefix as a pointer-free map key. bits is the prefix length
// for IPv6 and 129+length for IPv4.
type pkey struct {
	a    [16]byte
	bits uint8
}

func keyOf(p netip.Prefix) pkey {
	k := pkey{a: p.Addr().As16(), bits: uint8(p.Bits())}
	if p.Addr().Is4() {
		k.bits += 129
	}
	return k
}

func (k pkey) prefix() netip.Prefix {
	if k.bits >= 129 {
		a := netip.AddrFrom16(k.a).Unmap()
		return netip.PrefixFrom(a, int(k.bits-129))
	}
	return netip.PrefixFrom(netip.AddrFrom16(k.a), int(k.bits))
}

// ref is one path: from source src, with ADD-PATH identifier id, over link
// (index into the site's links, -1 when its next hop is no link's).
type ref struct {
	id    uint32
	src   uint16
	link  int8
	stale bool
}

const inlineRefs = 3

// entry holds a prefix's paths; more than inlineRefs spill to a side map.
type entry struct {
	n uint8
	r [inlineRefs]ref
}

type table struct {
	m     map[pkey]entry
	spill map[pkey][]ref
}

func newTable() table {
	return table{m: map[pkey]entry{}, spill: map[pkey][]ref{}}
}

func (t *table) len() int { return len(t.m) }

// refs calls fn for every path of k; fn returns false to stop.
func (t *table) refs(k pkey, e entry, fn func(ref) bool) {
	for i := 0; i < int(e.n); i++ {
		if !fn(e.r[i]) {
			return
		}
	}
	if e.n == inlineRefs {
		for _, r := range t.spill[k] {
			if !fn(r) {
				return
			}
		}
	}
}

// linkMask returns the set of links k has a path over; bit 63 is "no link".
func (t *table) linkMask(k pkey) uint64 {
	e, ok := t.m[k]
	if !ok {
		return 0
	}
	var m uint64
	t.refs(k, e, func(r ref) bool {
		m |= linkBit(int(r.link))
		return true
	})
	return m
}

func linkBit(link int) uint64 {
	if link < 0 || link > 62 {
		return 1 << 63
	}
	return 1 << uint(link)
}

// set adds or replaces the path (r.src, r.id) of k and returns the old one.
func (t *table) set(k pkey, r ref) (old ref, had bool) {
	e := t.m[k]
	for i := 0; i < int(e.n); i++ {
		if e.r[i].src == r.src && e.r[i].id == r.id {
			old = e.r[i]
			e.r[i] = r
			t.m[k] = e
			return old, true
		}
	}
	if int(e.n) < inlineRefs {
		e.r[e.n] = r
		e.n++
		t.m[k] = e
		return ref{}, false
	}
	sp := t.spill[k]
	for i := range sp {
		if sp[i].src == r.src && sp[i].id == r.id {
			old = sp[i]
			sp[i] = r
			return old, true
		}
	}
	t.spill[k] = append(sp, r)
	return ref{}, false
}

// del removes the path (src, id) of k and returns it.
func (t *table) del(k pkey, src uint16, id uint32) (old ref, had bool) {
	e, ok := t.m[k]
	if !ok {
		return ref{}, false
	}
	sp := t.spill[k]
	for i := 0; i < int(e.n); i++ {
		if e.r[i].src == src && e.r[i].id == id {
			old = e.r[i]
			// Refill the slot from the spill, or close the gap.
			if len(sp) > 0 {
				e.r[i] = sp[len(sp)-1]
				sp = sp[:len(sp)-1]
				if len(sp) == 0 {
					delete(t.spill, k)
				} else {
					t.spill[k] = sp
				}
			} else {
				copy(e.r[i:], e.r[i+1:e.n])
				e.n--
				e.r[e.n] = ref{}
			}
			if e.n == 0 {
				delete(t.m, k)
			} else {
				t.m[k] = e
			}
			return old, true
		}
	}
	for i := range sp {
		if sp[i].src == src && sp[i].id == id {
			old = sp[i]
			sp = append(sp[:i], sp[i+1:]...)
			if len(sp) == 0 {
				delete(t.spill, k)
			} else {
				t.spill[k] = sp
			}
			return old, true
		}
	}
	return ref{}, false
}

// paths returns the paths of src in the table, as (key, ref) pairs. It
// walks the whole table: used on a session reset, a stale sweep or a
// resync, never per update.
func (t *table) pathsOf(src uint16, match func(ref) bool) []keyRef {
	var out []keyRef
	for k, e := range t.m {
		t.refs(k, e, func(r ref) bool {
			if r.src == src && (match == nil || match(r)) {
				out = append(out, keyRef{k, r})
			}
			return true
		})
	}
	return out
}

type keyRef struct {
	k pkey
	r ref
}
