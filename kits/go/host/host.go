// Package host calls the methods of the wasplug host a plugin runs in.
//
// Call blocks the calling goroutine until the host answers; the plugin's
// other goroutines, and the requests the host sends meanwhile, go on.
package host

import "wasplug.dev/kit/internal/rpc"

// ErrClosed is returned by a Call the host can no longer answer: stdin
// ended before its answer came.
var ErrClosed = rpc.ErrClosed

// Call calls host method method with params (nil for none; otherwise a
// value that encoding/json marshals to an array or an object) and decodes
// the result into result (a pointer, or nil to drop it). When the host
// answers with an error, Call returns it as a *kit.Error (code, message and
// data, the data as a json.RawMessage); a handler that returns it passes it
// on unchanged. A method the plugin has not been granted answers -32010.
func Call(method string, params, result any) error {
	return rpc.Call(method, params, result)
}

// Notify sends the host notification method with params (as for Call). It
// does not wait: the host answers no notification.
func Notify(method string, params any) error {
	return rpc.Notify(method, params)
}
