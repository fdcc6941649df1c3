// Package rpc is the connection behind the wasplug Go kit: JSON-RPC 2.0, one
// object per line, host→plugin on stdin and plugin→host on stdout.
//
// The goroutine in Run reads stdin. Each request runs its handler in its own
// goroutine; an answer to one of the plugin's host calls goes to the
// goroutine waiting for it (by id). Every message is written to stdout in one
// write, under a mutex, as soon as it is ready: nothing waits to be flushed.
package rpc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
)

// ProtocolVersion is the wasplug protocol version this kit speaks.
const ProtocolVersion = 1

// The standard JSON-RPC 2.0 error codes.
const (
	ParseError     = -32700
	InvalidRequest = -32600
	MethodNotFound = -32601
	InvalidParams  = -32602
	InternalError  = -32603
)

// DiscoverMethod is the method that describes the plugin.
const DiscoverMethod = "rpc.discover"

// Error is a JSON-RPC error object: what a handler returns to choose the
// code, and what a host call returns when the host answers with an error.
// Data is marshalled with encoding/json; in an error from the host it is
// the json.RawMessage the host sent.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// Error reads "message (code N)".
func (e *Error) Error() string {
	return e.Message + " (code " + strconv.Itoa(e.Code) + ")"
}

// ErrClosed is returned by a host call that the host can no longer answer:
// stdin ended before its answer came.
var ErrClosed = errors.New("wasplug: stdin ended before the host answered")

// Handler answers a request: params as sent (nil when absent), the result
// to marshal, or an error (a *Error keeps its code; any other is -32603).
type Handler func(params json.RawMessage) (any, error)

// response is what a waiting host call receives.
type response struct {
	result json.RawMessage
	err    error
}

var (
	// writeMu keeps each message's single write whole.
	writeMu sync.Mutex
	out     io.Writer = os.Stdout

	mu            sync.Mutex
	methods       = map[string]Handler{}
	order         []string
	notifications = map[string]func(json.RawMessage){}
	pending       = map[uint64]chan response{}
	nextID        uint64
	closed        bool

	inflight sync.WaitGroup
)

// Register adds method name. It panics when name is taken or is
// rpc.discover, which the kit answers itself.
func Register(name string, h Handler) {
	mu.Lock()
	defer mu.Unlock()
	if _, taken := methods[name]; taken || name == DiscoverMethod {
		panic("wasplug: method " + strconv.Quote(name) + " registered twice or reserved")
	}
	methods[name] = h
	order = append(order, name)
}

// OnNotification adds a handler for the host's notification name.
func OnNotification(name string, h func(json.RawMessage)) {
	mu.Lock()
	defer mu.Unlock()
	notifications[name] = h
}

// Run serves requests until stdin ends, then waits for the handlers still
// running and returns. A read error other than end of input is written to
// stderr and ends the process with status 1.
func Run(name, version string) {
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	for {
		line, err := in.ReadBytes('\n')
		if line = bytes.TrimSpace(line); len(line) > 0 {
			receive(line, name, version)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			Log("wasplug: reading stdin failed: " + err.Error())
			os.Exit(1)
		}
	}
	mu.Lock()
	closed = true
	for id, ch := range pending {
		ch <- response{err: ErrClosed}
		delete(pending, id)
	}
	mu.Unlock()
	inflight.Wait()
}

// envelope is any message, each member as it was written (absent: nil;
// null: "null").
type envelope struct {
	JSONRPC, ID, Method, Params, Result, Error json.RawMessage
}

// errNotObject: the line is JSON, but not an object.
var errNotObject = errors.New("not a JSON object")

// parseEnvelope splits a line into its top-level members without decoding
// them: by hand, since decoding into a struct with encoding/json builds its
// reflection caches afresh in every instance, which costs more than the
// rest of a ping. Member names match exactly (encoding/json would ignore
// case). The line has no leading whitespace.
func parseEnvelope(line []byte) (envelope, error) {
	var env envelope
	if !json.Valid(line) {
		var v any
		return env, json.Unmarshal(line, &v) // the *json.SyntaxError
	}
	if line[0] != '{' {
		return env, errNotObject
	}
	i := skipSpace(line, 1)
	for i < len(line) && line[i] == '"' {
		keyEnd := skipValue(line, i)
		key, _ := unquote(line[i:keyEnd])
		start := skipSpace(line, skipSpace(line, keyEnd)+1) // past ':'
		end := skipValue(line, start)
		value := json.RawMessage(line[start:end])
		switch key {
		case "jsonrpc":
			env.JSONRPC = value
		case "id":
			env.ID = value
		case "method":
			env.Method = value
		case "params":
			env.Params = value
		case "result":
			env.Result = value
		case "error":
			env.Error = value
		}
		i = skipSpace(line, end)
		if i < len(line) && line[i] == ',' {
			i = skipSpace(line, i+1)
		}
	}
	return env, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipValue returns the end of the (valid) JSON value starting at i.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); {
			switch b[j] {
			case '"':
				j = skipValue(b, j)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
			j++
		}
		return len(b)
	}
	j := i
	for j < len(b) && bytes.IndexByte([]byte(",}] \t\r\n"), b[j]) < 0 {
		j++
	}
	return j
}

// unquote decodes a JSON string; false when raw is not one.
func unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

// receive validates one line and dispatches it.
func receive(line []byte, name, version string) {
	env, err := parseEnvelope(line)
	if err != nil {
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &syntax):
			sendError(nil, &Error{ParseError, "Parse error", err.Error()})
		case line[0] == '[':
			sendError(nil, &Error{InvalidRequest, "Batches are not supported", "send one JSON-RPC object per line"})
		default:
			sendError(nil, &Error{InvalidRequest, "Invalid Request", "expected a JSON object"})
		}
		return
	}
	var id json.RawMessage // the request's id, when it is a valid one
	if env.Method != nil && isID(env.ID) {
		id = env.ID
	}
	invalid := func(reason string) {
		sendError(id, &Error{InvalidRequest, "Invalid Request", reason})
	}
	if jsonrpc, ok := unquote(env.JSONRPC); !ok || jsonrpc != "2.0" {
		invalid(`"jsonrpc" must be "2.0"`)
		return
	}
	if env.Method != nil {
		method, ok := unquote(env.Method)
		if !ok {
			invalid(`"method" must be a string`)
			return
		}
		if env.Result != nil || env.Error != nil {
			invalid(`a request or notification must not have "result" or "error"`)
			return
		}
		if env.Params != nil && env.Params[0] != '[' && env.Params[0] != '{' {
			invalid(`"params" must be an array or object`)
			return
		}
		switch {
		case env.ID == nil:
			mu.Lock()
			h := notifications[method]
			mu.Unlock()
			if h != nil {
				go h(env.Params)
			}
		case id == nil:
			invalid(`a request "id" must be a string or a number`)
		default:
			inflight.Add(1)
			go serve(id, method, env.Params, name, version)
		}
		return
	}
	if env.Result == nil && env.Error == nil {
		invalid(`no "method": neither a request nor a response`)
		return
	}
	respond(env)
}

// respond hands an answer to the host call waiting for it.
func respond(env envelope) {
	if (env.Result == nil) == (env.Error == nil) {
		Log(`wasplug: ignored a response without exactly one of "result" and "error"`)
		return
	}
	id, err := strconv.ParseUint(string(env.ID), 10, 64)
	mu.Lock()
	ch, ok := pending[id]
	delete(pending, id)
	mu.Unlock()
	if err != nil || !ok {
		Log("wasplug: ignored a response to id " + string(env.ID) + ", which is no pending host call")
		return
	}
	if env.Error == nil {
		ch <- response{result: env.Result}
		return
	}
	var wire struct {
		Code    *int            `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if json.Unmarshal(env.Error, &wire) != nil || wire.Code == nil {
		ch <- response{err: &Error{InternalError, "the host sent a malformed error", env.Error}}
		return
	}
	rpcErr := &Error{Code: *wire.Code, Message: wire.Message}
	if wire.Data != nil {
		rpcErr.Data = wire.Data
	}
	ch <- response{err: rpcErr}
}

// isID reports whether raw is a valid request id: a string or a number.
func isID(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	c := raw[0]
	return c == '"' || c == '-' || ('0' <= c && c <= '9')
}

// serve runs one request's handler and answers it.
func serve(id json.RawMessage, method string, params json.RawMessage, name, version string) {
	defer inflight.Done()
	if method == DiscoverMethod {
		sendResult(id, discover(name, version))
		return
	}
	mu.Lock()
	h := methods[method]
	mu.Unlock()
	if h == nil {
		sendError(id, &Error{MethodNotFound, "Method not found", method})
		return
	}
	result, err := call(h, params)
	if err != nil {
		var rpcErr *Error
		if !errors.As(err, &rpcErr) {
			rpcErr = &Error{Code: InternalError, Message: err.Error()}
		}
		sendError(id, rpcErr)
		return
	}
	sendResult(id, result)
}

// call runs h, turning a panic into an internal error (logged with its stack).
func call(h Handler, params json.RawMessage) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			Log("wasplug: handler panicked: " + panicText(p) + "\n" + string(debug.Stack()))
			result, err = nil, &Error{Code: InternalError, Message: "the handler panicked: " + panicText(p)}
		}
	}()
	return h(params)
}

func panicText(p any) string {
	switch p := p.(type) {
	case error:
		return p.Error()
	case string:
		return p
	default:
		return "a non-error value"
	}
}

type discoverDoc struct {
	OpenRPC string         `json:"openrpc"`
	Info    discoverInfo   `json:"info"`
	Methods []discoverItem `json:"methods"`
}

type discoverInfo struct {
	Title    string `json:"title"`
	Version  string `json:"version"`
	Protocol int    `json:"x-wasplug-protocol"`
}

type discoverItem struct {
	Name   string   `json:"name"`
	Params []string `json:"params"`
}

// discover is the rpc.discover answer: an OpenRPC document naming the plugin
// and its methods (rpc.discover included).
func discover(name, version string) discoverDoc {
	doc := discoverDoc{"1.3.2", discoverInfo{name, version, ProtocolVersion}, nil}
	mu.Lock()
	for _, method := range order {
		doc.Methods = append(doc.Methods, discoverItem{method, []string{}})
	}
	mu.Unlock()
	doc.Methods = append(doc.Methods, discoverItem{DiscoverMethod, []string{}})
	return doc
}

// Call sends a request to the host and waits for its answer, which is
// decoded into result (unless result is nil).
func Call(method string, params, result any) error {
	p, err := encodeParams(params)
	if err != nil {
		return err
	}
	ch := make(chan response, 1)
	mu.Lock()
	if closed {
		mu.Unlock()
		return ErrClosed
	}
	nextID++
	id := nextID
	pending[id] = ch
	mu.Unlock()
	if err := send(request(strconv.FormatUint(id, 10), method, p)); err != nil {
		mu.Lock()
		delete(pending, id)
		mu.Unlock()
		return err
	}
	answer := <-ch
	if answer.err != nil {
		return answer.err
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(answer.result, result); err != nil {
		return errors.New("wasplug: cannot decode the answer of host method " + strconv.Quote(method) + ": " + err.Error())
	}
	return nil
}

// Notify sends a notification to the host.
func Notify(method string, params any) error {
	p, err := encodeParams(params)
	if err != nil {
		return err
	}
	return send(request("", method, p))
}

// encodeParams marshals params: nil for none, else an array or an object.
func encodeParams(params any) ([]byte, error) {
	if params == nil {
		return nil, nil
	}
	p, err := encode(params)
	if err != nil {
		return nil, err
	}
	switch p[0] {
	case '[', '{':
		return p, nil
	case 'n':
		return nil, nil
	}
	return nil, errors.New("wasplug: params must marshal to a JSON array or object, not " + string(p))
}

// request builds a request line, or a notification's when id is "".
func request(id, method string, params []byte) []byte {
	m, _ := encode(method) // a string always marshals
	b := append([]byte(`{"jsonrpc":"2.0"`), `,"method":`...)
	b = append(b, m...)
	if params != nil {
		b = append(append(b, `,"params":`...), params...)
	}
	if id != "" {
		b = append(append(b, `,"id":`...), id...)
	}
	return append(b, "}\n"...)
}

// encode marshals v on one line, without escaping <, > and & (a
// json.RawMessage keeps its text, whitespace aside).
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func sendResult(id json.RawMessage, result any) {
	r, err := encode(result)
	if err != nil {
		sendError(id, &Error{Code: InternalError, Message: "cannot marshal the result: " + err.Error()})
		return
	}
	answer(id, "result", r)
}

func sendError(id json.RawMessage, e *Error) {
	r, err := encode(e)
	if err != nil {
		r, _ = encode(&Error{Code: e.Code, Message: e.Message + " (its data did not marshal: " + err.Error() + ")"})
	}
	answer(id, "error", r)
}

// answer writes a response; a nil id is written as null.
func answer(id json.RawMessage, member string, value []byte) {
	if id == nil {
		id = json.RawMessage("null")
	}
	b := append([]byte(`{"jsonrpc":"2.0","id":`), id...)
	b = append(append(append(b, `,"`...), member...), `":`...)
	b = append(append(b, value...), "}\n"...)
	if err := send(b); err != nil {
		Log("wasplug: writing an answer failed: " + err.Error())
	}
}

// send writes one message in one write.
func send(line []byte) error {
	writeMu.Lock()
	defer writeMu.Unlock()
	_, err := out.Write(line)
	return err
}

// Log writes a line to stderr, which the host logs.
func Log(text string) {
	os.Stderr.WriteString(text + "\n")
}
