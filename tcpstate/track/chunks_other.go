//go:build !unix

package track

import "errors"

func mapChunk(int) ([]byte, error) { return nil, errors.ErrUnsupported }

func unmapChunk([]byte) {}
