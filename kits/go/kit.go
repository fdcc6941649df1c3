// Package kit writes wasplug plugins in Go (GOOS=wasip1 GOARCH=wasm).
//
// A plugin registers its methods, then calls Run:
//
//	func main() {
//		kit.Method("add", func(p [2]int) (int, error) { return p[0] + p[1], nil })
//		kit.Run("adder", "1.0.0")
//	}
//
// Params are decoded and results encoded with encoding/json. Each request
// runs its handler in its own goroutine, so a handler blocked in host.Call
// (package wasplug.dev/kit/host) does not hold up the others. rpc.discover
// is answered by the kit, with the name, version and registered methods.
//
// Go cannot write wasm custom sections, so a Go plugin carries no
// wasplug_manifest section: put its manifest in a sidecar file NAME.json
// beside NAME.wasm (see the kit's README).
package kit

import (
	"bytes"
	"encoding/json"

	"wasplug.dev/kit/internal/rpc"
)

// Error is a JSON-RPC error: a handler returning one answers with its code,
// message and data (marshalled with encoding/json; a json.RawMessage is sent
// verbatim). Any other error answers InternalError with its text.
type Error = rpc.Error

// The standard JSON-RPC 2.0 error codes.
const (
	ParseError     = rpc.ParseError
	InvalidRequest = rpc.InvalidRequest
	MethodNotFound = rpc.MethodNotFound
	InvalidParams  = rpc.InvalidParams
	InternalError  = rpc.InternalError
)

// ProtocolVersion is the wasplug protocol version the kit speaks.
const ProtocolVersion = rpc.ProtocolVersion

// NoParams is the params type of a method that takes none: it accepts
// absent params, null, [] and {}, and answers InvalidParams to anything else.
type NoParams struct{}

// UnmarshalJSON accepts null, [] and {}.
func (*NoParams) UnmarshalJSON(b []byte) error {
	switch string(bytes.Join(bytes.Fields(b), nil)) {
	case "null", "[]", "{}":
		return nil
	}
	return &Error{Code: InvalidParams, Message: "this method takes no params"}
}

// Method registers method name: the request's params are decoded into a P
// with encoding/json (a JSON array into a slice, an array or a struct of
// the positions; an object into a struct or a map; absent params leave P's
// zero value) and the R returned is encoded as the result. Params that do
// not decode answer InvalidParams. Use json.RawMessage as P or R to take or
// give JSON text unchanged (numbers of any size, any unicode).
//
// Method panics when name is already registered or is rpc.discover.
func Method[P, R any](name string, handler func(P) (R, error)) {
	rpc.Register(name, func(raw json.RawMessage) (any, error) {
		var params P
		if raw != nil {
			if err := json.Unmarshal(raw, &params); err != nil {
				if e, ok := err.(*Error); ok {
					return nil, e
				}
				return nil, &Error{Code: InvalidParams, Message: "invalid params: " + err.Error()}
			}
		}
		result, err := handler(params)
		if err != nil {
			return nil, err
		}
		return result, nil
	})
}

// RawMethod registers method name with a handler that takes the params as
// sent (nil when absent) and returns any value encoding/json can marshal.
//
// RawMethod panics when name is already registered or is rpc.discover.
func RawMethod(name string, handler func(params json.RawMessage) (any, error)) {
	rpc.Register(name, handler)
}

// Notification registers a handler for the host's notification name; its
// params are decoded into P as for Method (a notification that does not
// decode is dropped, and said so on stderr). Notifications nobody registered
// are ignored.
func Notification[P any](name string, handler func(P)) {
	rpc.OnNotification(name, func(raw json.RawMessage) {
		var params P
		if raw != nil {
			if err := json.Unmarshal(raw, &params); err != nil {
				rpc.Log("wasplug: dropped notification " + name + ": " + err.Error())
				return
			}
		}
		handler(params)
	})
}

// Run answers requests from stdin until it ends, then waits for the
// handlers still running and returns; call it last in main. name and
// version are rpc.discover's. A read error on stdin is written to stderr and
// ends the process with status 1.
func Run(name, version string) {
	rpc.Run(name, version)
}
