package webhook

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// reserved are the ranges outgoing deliveries may not reach unless
// allowed (SPEC 7): private, loopback, link-local, CGNAT, documentation,
// multicast and other special-purpose blocks.
var reserved = func() []netip.Prefix {
	var list []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
		"::/128", "::1/128", "100::/64", "2001:db8::/32", "2002::/16", "3fff::/20", "5f00::/16",
		"64:ff9b::/96", "64:ff9b:1::/48", "fc00::/7", "fe80::/10", "ff00::/8",
	} {
		list = append(list, netip.MustParsePrefix(s))
	}
	return list
}()

// RefusedError is a target address in a reserved range that no allowed
// prefix covers.
type RefusedError struct {
	// Addr is the address dialed.
	Addr netip.Addr
	// Range is the reserved range it is in.
	Range netip.Prefix
}

// Error implements error.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("target %s refused: it is in the reserved range %s (allow_targets can allow it)", e.Addr, e.Range)
}

// Guard refuses connections to reserved addresses, except to those its
// allowed prefixes cover. The zero Guard allows no reserved address.
type Guard struct {
	allow []netip.Prefix
}

// NewGuard is a guard that lets the addresses of allow through.
func NewGuard(allow []netip.Prefix) Guard {
	return Guard{allow: allow}
}

// Check returns a *RefusedError when addr may not be reached. An
// IPv4-mapped IPv6 address is checked as the IPv4 address it holds.
func (g Guard) Check(addr netip.Addr) error {
	addr = addr.Unmap().WithZone("")
	for _, p := range g.allow {
		if p.Contains(addr) {
			return nil
		}
	}
	for _, p := range reserved {
		if p.Contains(addr) {
			return &RefusedError{Addr: addr, Range: p}
		}
	}
	return nil
}

// control is a net.Dialer Control: it checks the address actually dialed,
// after name resolution, so that neither DNS nor a redirect can lead a
// delivery to a refused address.
func (g Guard) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("target %q is not an IP address", host)
	}
	return g.Check(addr)
}
