package hook

import (
	"fmt"
	"net/netip"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// inCIDR is the condition function in_cidr(ip, "192.30.252.0/22", ...):
// true when ip is in any of the ranges (a provider's published source
// ranges). An address that does not parse is in no range; a range that
// does not parse is an error (ranges written in the condition are checked
// when it compiles).
var inCIDR = expr.Function("in_cidr", func(args ...any) (any, error) {
	addr, err := netip.ParseAddr(args[0].(string))
	if err == nil {
		addr = addr.Unmap()
	}
	for _, a := range args[1:] {
		prefix, perr := netip.ParsePrefix(a.(string))
		if perr != nil {
			return nil, fmt.Errorf("in_cidr: %q is not a range such as 192.30.252.0/22", a)
		}
		if err == nil && prefix.Contains(addr) {
			return true, nil
		}
	}
	return false, nil
}, new(func(string, string, ...string) bool))

// cidrRanges checks, when a condition compiles, the ranges written as
// literals in its in_cidr calls, so that a typo fails the config load
// rather than every hook.
type cidrRanges struct{ err error }

// Visit implements ast.Visitor.
func (c *cidrRanges) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok || c.err != nil {
		return
	}
	callee, ok := call.Callee.(*ast.IdentifierNode)
	if !ok || callee.Value != "in_cidr" {
		return
	}
	for _, arg := range call.Arguments[min(1, len(call.Arguments)):] {
		s, ok := arg.(*ast.StringNode)
		if !ok {
			continue
		}
		if _, err := netip.ParsePrefix(s.Value); err != nil {
			c.err = fmt.Errorf("in_cidr: %q is not a range such as 192.30.252.0/22 (at character %d)", s.Value, s.Location().From+1)
			return
		}
	}
}
