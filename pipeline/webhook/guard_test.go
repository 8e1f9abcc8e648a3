package webhook

import (
	"errors"
	"net/netip"
	"testing"
)

func TestGuard(t *testing.T) {
	g := NewGuard(nil)
	refused := []string{
		"0.0.0.1", "10.0.0.1", "100.64.0.1", "127.0.0.1", "169.254.169.254", "172.16.0.1", "172.31.255.255",
		"192.0.0.1", "192.0.2.1", "192.88.99.1", "192.168.1.1", "198.18.0.1", "198.19.255.255", "198.51.100.1",
		"203.0.113.1", "224.0.0.1", "240.0.0.1", "255.255.255.255",
		"::", "::1", "100::1", "2001:db8::1", "2002::1", "3fff::1", "5f00::1", "64:ff9b::a00:1", "64:ff9b:1::1",
		"fc00::1", "fd12::1", "fe80::1", "fe80::1%eth0", "ff02::1",
		"::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:127.0.0.1",
	}
	for _, s := range refused {
		err := g.Check(netip.MustParseAddr(s))
		var re *RefusedError
		if !errors.As(err, &re) {
			t.Errorf("%s: %v, want refused", s, err)
		}
	}
	allowed := []string{"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"}
	for _, s := range allowed {
		if err := g.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	err := g.Check(netip.MustParseAddr("::ffff:10.0.0.1"))
	if re := new(RefusedError); !errors.As(err, &re) || re.Range.String() != "10.0.0.0/8" {
		t.Errorf("IPv4-mapped address: %v, want the IPv4 range", err)
	}
}

func TestGuardAllow(t *testing.T) {
	g := NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")})
	for _, s := range []string{"127.0.0.1", "::ffff:127.0.0.1", "::1"} {
		if err := g.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{"10.0.0.1", "169.254.169.254"} {
		if err := g.Check(netip.MustParseAddr(s)); err == nil {
			t.Errorf("%s allowed", s)
		}
	}
}
