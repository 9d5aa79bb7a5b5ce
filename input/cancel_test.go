package input

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// TestOpenStdinCancelled: a read of stdin that waits for its first byte
// ends when the context is done, and bytes that do come pass unchanged.
func TestOpenStdinCancelled(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Open("-", pr, Options{Ctx: ctx})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Open after cancel: %v; want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Open still waiting for stdin 5 s after its context was cancelled")
	}

	want := bytes.Repeat([]byte("0123456789abcdef"), 20000)
	r := cancellable(context.Background(), bytes.NewReader(want))
	if _, ok := r.(*cancelReader); ok {
		t.Fatal("a context that is never done should leave the reader as it is")
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	r = cancellable(ctx, bytes.NewReader(want))
	got, err := io.ReadAll(io.LimitReader(r, 1<<30))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("read %d bytes, %v; want the %d bytes written", len(got), err, len(want))
	}
}
