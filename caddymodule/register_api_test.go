package caddymodule_test

// The example and adapt tests of this package load configs that use
// hookgate_api, which registers itself from its own package (it imports
// this one, so only an external test file may import it).
import _ "github.com/hookgate/hookgate/caddymodule/api"
