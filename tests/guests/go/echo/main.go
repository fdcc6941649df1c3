// A Go guest for the wasplug integration tests (tests/tests/wasi_guests/).
//
// Reads stdin line by line, echoes each line to stdout and logs "got N bytes"
// per line to stderr. At end of input it logs "eof after N lines" and exits 0.
// The Go runtime marks stdin non-blocking and waits for it in poll_oneoff, so
// this guest checks that such a wait suspends like a blocking read.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

func main() {
	in := bufio.NewReader(os.Stdin)
	lines := 0
	for {
		line, err := in.ReadString('\n')
		if len(line) > 0 {
			if _, werr := os.Stdout.WriteString(line); werr != nil {
				fmt.Fprintf(os.Stderr, "write failed: %v\n", werr)
				os.Exit(1)
			}
			fmt.Fprintf(os.Stderr, "got %d bytes\n", len(line))
			lines++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "read failed: %v\n", err)
			os.Exit(1)
		}
	}
	fmt.Fprintf(os.Stderr, "eof after %d lines\n", lines)
}
