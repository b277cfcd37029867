//go:build !amd64

package predictor

var useAVX2 = false

func addAVX2(dst, x *float32, n int)        { panic("unreachable") }
func addReLUAVX2(dst, a, b *float32, n int) { panic("unreachable") }
func reluAVX2(x *float32, n int)            { panic("unreachable") }
