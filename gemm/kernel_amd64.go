package gemm

import "golang.org/x/sys/cpu"

// Implemented in kernel_amd64.s.

//go:noescape
func kernelAVX2(k int, a, b, c *float32, ldc int)

//go:noescape
func kernelAVX2x24(k int, a, b, c *float32, ldc int)

//go:noescape
func kernelAVX512(k int, a, b, c *float32, ldc int)

//go:noescape
func kernelAVX512Half(k int, a, b, c *float32, ldc int)

//go:noescape
func kernelAVX512BF16(k int, a *float32, b *uint16, c *float32, ldc int)

//go:noescape
func kernelAVX512HalfBF16(k int, a *float32, b *uint16, c *float32, ldc int)

//go:noescape
func kernelAVX2x24BF16(k int, a *float32, b *uint16, c *float32, ldc int)

func archKernels() []kernel {
	var ks []kernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, kernel{name: "avx512", mr: 8, nr: 48, fn: kernelAVX512, half: kernelAVX512Half,
			fn16: kernelAVX512BF16, half16: kernelAVX512HalfBF16})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		// 6 x 16 for large products; 4 x 24 for packed weights times a few rows (batches
		// of 4 or 16 DSPs fill its tiles exactly).
		ks = append(ks, kernel{name: "avx2", mr: 6, nr: 16, fn: kernelAVX2, packed: "avx2-4x24"},
			kernel{name: "avx2-4x24", mr: 4, nr: 24, fn: kernelAVX2x24, fn16: kernelAVX2x24BF16})
	}
	return ks
}
