package aws

import "testing"

// TestOptic1000BaseLXSingleMode: a 1 Gbps Direct Connect port is
// 1000BASE-LX on single-mode fibre, whose transmit minimum is -11.0 dBm
// (IEEE 802.3 Table 38-7); -11.5 dBm is the multimode figure, which would
// pass a transmitter 0.5 dB too weak.
func TestOptic1000BaseLXSingleMode(t *testing.T) {
	o := optics["1Gbps"]
	if o.name != "1000BASE-LX" || o.txMin != -11 {
		t.Fatalf("1 Gbps optic %s transmit minimum %.1f dBm, want 1000BASE-LX single-mode -11.0", o.name, o.txMin)
	}
	if tx := -11.3; tx >= o.txMin {
		t.Errorf("a transmit level of %.1f dBm is within the range (minimum %.1f)", tx, o.txMin)
	}
}
