# The cuBLAS backend (lib/model/cuda/*.cu), built when nvcc is found on PATH or in
# /usr/local/cuda/bin. Included by the top Makefile:
#
#   -include lib/model/cuda/cuda.mk
#
# Without nvcc (or with CUDA=0) nothing here applies: the build is CPU-only. With nvcc the
# .cu files join build/libomlkit.a, backend_select.cpp is compiled with OMLKIT_CUDA, and
# the tools link cudart and cuBLAS; the GPU is still chosen at run time, so a machine with
# the toolkit but no GPU builds everything and runs on the CPU.
CUDA ?= auto
ifneq ($(CUDA),0)
NVCC ?= $(firstword $(shell command -v nvcc 2>/dev/null) $(wildcard /usr/local/cuda/bin/nvcc))
endif
CUDA_ENABLED := $(if $(strip $(NVCC)),1,0)

# backend_select.o is compiled with or without OMLKIT_CUDA: rebuild it when that changes.
$(shell mkdir -p $(BUILD) && (echo $(CUDA_ENABLED) | cmp -s - $(BUILD)/cuda-enabled || echo $(CUDA_ENABLED) > $(BUILD)/cuda-enabled))
$(BUILD)/lib/model/backend_select.o: $(BUILD)/cuda-enabled

ifeq ($(CUDA_ENABLED),1)
CUDA_HOME  ?= $(patsubst %/bin/nvcc,%,$(NVCC))
# Ampere (sm_80, plus PTX for newer GPUs to JIT) and Hopper (sm_90: H100, H200).
CUDA_ARCHS ?= --generate-code arch=compute_80,code=[compute_80,sm_80] --generate-code arch=compute_90,code=sm_90
NVCCFLAGS  ?= -O2 -g
CUDA_SRCS  := $(shell find lib -path '*/cuda/*.cu' | sort)
CUDA_OBJS  := $(CUDA_SRCS:%.cu=$(BUILD)/%.o)
LDFLAGS    += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64
# --as-needed: only binaries that use the GPU path load cuBLAS (it is large and slow to load cold).
LDLIBS     += -Wl,--as-needed -lcublas -lcudart -Wl,--no-as-needed

$(BUILD)/lib/model/backend_select.o: CXXFLAGS += -DOMLKIT_CUDA -I$(CUDA_HOME)/include

$(BUILD)/%.o: %.cu
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) $(CUDA_ARCHS) -std=c++20 -Ilib -Xcompiler -Wall,-Wextra -MMD -MP -c $< -o $@

$(BUILD)/libomlkit.a: $(CUDA_OBJS)
endif
