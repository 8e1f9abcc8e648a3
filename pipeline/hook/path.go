package hook

import (
	"errors"
	"fmt"
)

// CheckPath reports whether path is a well-formed gjson path. gjson itself
// never fails: a malformed path just finds nothing, which would turn a typo
// in a config into hooks that silently lack a variable. So paths are
// checked once, when the config loads: not empty, no empty component
// ("a..b", a leading or trailing separator), brackets, braces and
// parentheses balanced outside quoted strings, and no dangling escape.
func CheckPath(path string) error {
	if path == "" {
		return errors.New("empty gjson path")
	}
	var stack []byte
	inString := false
	prev := byte('.') // a path may not start with a separator
	for i := 0; i < len(path); i++ {
		c := path[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '\\':
			if i == len(path)-1 {
				return fmt.Errorf("gjson path %q: ends with an escape", path)
			}
			i++
			c = 'x'
		case '"':
			if len(stack) == 0 {
				return fmt.Errorf("gjson path %q: quote at position %d outside a query", path, i+1)
			}
			inString = true
		case '(', '[', '{':
			stack = append(stack, c)
		case ')', ']', '}':
			open := map[byte]byte{')': '(', ']': '[', '}': '{'}[c]
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return fmt.Errorf("gjson path %q: unbalanced %q at position %d", path, c, i+1)
			}
			stack = stack[:len(stack)-1]
		case '.', '|':
			if len(stack) == 0 && (prev == '.' || prev == '|') {
				return fmt.Errorf("gjson path %q: empty component at position %d", path, i+1)
			}
		}
		prev = c
	}
	if inString {
		return fmt.Errorf("gjson path %q: unterminated string", path)
	}
	if len(stack) > 0 {
		return fmt.Errorf("gjson path %q: unclosed %q", path, stack[len(stack)-1])
	}
	if prev == '.' || prev == '|' {
		return fmt.Errorf("gjson path %q: ends with a separator", path)
	}
	return nil
}
