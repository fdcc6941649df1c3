// The wasplug Go kit's example plugin: the scenario every kit's example
// implements (ping, echo, add, fail, call_echo, notify, rpc.discover).
//
// Build (from kits/go):
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -ldflags='-s -w' -o go-example.wasm ./example
//
// and put example/go-example.json, its manifest, beside go-example.wasm.
package main

import (
	"encoding/json"

	"wasplug.dev/kit"
	"wasplug.dev/kit/host"
)

func main() {
	kit.Method("ping", func(kit.NoParams) (string, error) { return "pong", nil })

	// The params back exactly as sent: unicode, numbers of any size.
	kit.Method("echo", func(p json.RawMessage) (json.RawMessage, error) { return p, nil })

	kit.Method("add", func(p []int64) (int64, error) {
		if len(p) != 2 {
			return 0, &kit.Error{Code: kit.InvalidParams, Message: "add takes two integers", Data: len(p)}
		}
		sum := p[0] + p[1]
		if (sum > p[0]) != (p[1] > 0) {
			return 0, &kit.Error{Code: kit.InvalidParams, Message: "the sum does not fit in 64 bits"}
		}
		return sum, nil
	})

	kit.Method("fail", func(kit.NoParams) (any, error) {
		return nil, &kit.Error{
			Code:    -32000,
			Message: "failed on purpose",
			Data:    map[string]any{"reason": "the scenario asks for it", "retry": false},
		}
	})

	// Calls the host's echo with its own params and answers what came back.
	kit.Method("call_echo", func(p json.RawMessage) (json.RawMessage, error) {
		var answer json.RawMessage
		if err := host.Call("echo", p, &answer); err != nil {
			return nil, err
		}
		return answer, nil
	})

	// Tells the host about its progress, then answers.
	kit.Method("notify", func(kit.NoParams) (string, error) {
		if err := host.Notify("progress", []int{1}); err != nil {
			return "", err
		}
		return "notified", nil
	})

	kit.Run("go-example", "1.0.0")
}
