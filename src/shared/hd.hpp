// DESCENT_HD marks a function that runs on both host and device. Under nvcc it is
// __host__ __device__; plain g++ sees an ordinary inline function. This is how one formula
// serves the CPU loop and the CUDA kernel (see design: "one formula, two backends").
#pragma once

#if defined(__CUDACC__)
#define DESCENT_HD __host__ __device__ inline
#else
#define DESCENT_HD inline
#endif
