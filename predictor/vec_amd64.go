package predictor

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2

// Implemented in vec_amd64.s.

//go:noescape
func addAVX2(dst, x *float32, n int)

//go:noescape
func addReLUAVX2(dst, a, b *float32, n int)

//go:noescape
func reluAVX2(x *float32, n int)
