# ngx_forest build.  `make` builds the library, the CLI and the NGINX module;
# `make test` runs every test; `make demo` serves conf.example on :8080.
# Variables: BUILD (output dir), SANITIZE=1 (ASan+UBSan, own build dir),
# FOREST_CUDA=auto|on|off (gpu/ needs nvcc).

SHELL := /bin/bash
.DEFAULT_GOAL := all

SANITIZE    ?= 0
FOREST_CUDA ?= auto
ifeq ($(SANITIZE),1)
BUILD       ?= build/san
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT         := -O1
else
BUILD       ?= build
SAN_FLAGS   :=
OPT         := -O2
endif
ABS_BUILD   := $(abspath $(BUILD))

CC          ?= gcc
WARN        := -Wall -Wextra -Werror
CFLAGS_ALL  := -std=c11 -D_GNU_SOURCE $(OPT) -g -fPIC -pthread $(WARN) $(SAN_FLAGS) -Iforest $(CFLAGS)
LDLIBS_ALL  := -pthread -lm $(SAN_FLAGS) $(LDFLAGS)

# SIMD kernels are chosen at run time; only their own files get the ISA flags.
AVX2_FLAGS   := -mavx2 -mfma -mbmi -mbmi2
AVX512_FLAGS := $(AVX2_FLAGS) -mavx512f -mavx512vl -mavx512bw -mavx512dq

# each architecture builds its own kernels: x86 the AVX ones, AArch64 NEON
# (no flags: part of its base ISA); `make test-arm64` cross-builds the latter
TARGET_CPU := $(firstword $(subst -, ,$(shell $(CC) -dumpmachine)))
KERNELS_OFF := $(if $(filter x86_64 i386 i486 i586 i686,$(TARGET_CPU)),%_neon.c,\
               $(if $(filter aarch64,$(TARGET_CPU)),%_avx2.c %_avx512.c,%_neon.c %_avx2.c %_avx512.c))
LIB_SRCS  := $(filter-out $(KERNELS_OFF),$(wildcard forest/*.c forest/load/*.c forest/repo/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CODEC_SRCS := $(wildcard codec/*.c)
CODEC_OBJS := $(CODEC_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_SRCS  := $(wildcard cli/*.c)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(wildcard fuzz/fuzz_*.c)

LIBFOREST := $(BUILD)/libforest.a
LIBCODEC  := $(BUILD)/libforest_codec.a
FOREST_BIN := $(BUILD)/bin/forest
MODULE    := $(BUILD)/ngx_http_forest_module.so

# VERSION is the one version string: `config` gives it to the module (/v2),
# this to `forest --version`, debian/rules checks debian/changelog against it.
FOREST_VERSION := $(shell cat VERSION)
$(BUILD)/obj/cli/main.o: VERSION
$(BUILD)/obj/cli/main.o: CFLAGS_ALL += -DFOREST_VERSION='"$(FOREST_VERSION)"'

# ---- CUDA (gpu/) -------------------------------------------------------
NVCC ?= $(shell command -v nvcc 2>/dev/null || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
CUDA_HOME ?= $(if $(NVCC),$(patsubst %/bin/nvcc,%,$(NVCC)),/usr/local/cuda)
GPU_SRCS  := $(wildcard gpu/*.cu)
ifeq ($(FOREST_CUDA),off)
USE_CUDA  :=
else ifeq ($(FOREST_CUDA),on)
USE_CUDA  := $(if $(NVCC),1,$(error FOREST_CUDA=on but nvcc was not found))
else
USE_CUDA  := $(if $(and $(NVCC),$(GPU_SRCS)),1,)
endif
LIBCUDA_A := $(if $(USE_CUDA),$(BUILD)/libforest_cuda.a,)
CUDA_LIBS := $(if $(USE_CUDA),$(LIBCUDA_A) -L$(CUDA_HOME)/lib64 -lcudart_static -lrt -ldl -lstdc++,)
CUDA_DEFS := $(if $(USE_CUDA),-DFOREST_HAVE_CUDA=1,)

.PHONY: gpu-bench all deps lib cli module test unit-test demo fuzz fuzz-ci bench clean reliability soak

all: deps lib cli module

deps: $(BUILD)/.deps
$(BUILD)/.deps: scripts/install-deps.sh
	@mkdir -p $(BUILD)
	bash scripts/install-deps.sh
	@touch $@

lib: $(LIBFOREST) $(LIBCODEC) $(LIBCUDA_A)
cli: $(FOREST_BIN)
module: $(MODULE)

# header dependencies under every spelling of the object (a BUILD given
# relative and absolute names one file twice; each must see them)
DEPFLAGS = -MMD -MP -MT '$@ $(abspath $@) $(patsubst $(CURDIR)/%,%,$(abspath $@))'

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CUDA_DEFS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/obj/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(AVX2_FLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/obj/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(AVX512_FLAGS) $(DEPFLAGS) -c $< -o $@

$(LIBFOREST): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBCODEC): $(CODEC_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libforest_cuda.a: $(GPU_SRCS) $(wildcard gpu/*.h gpu/*.cuh) forest/forest.h forest/forest_exec.h
	@mkdir -p $(BUILD)/obj/gpu
	for f in $(GPU_SRCS); do \
	    $(NVCC) -O3 -std=c++17 -Xcompiler -fPIC,-Wall,-Wextra -Iforest \
	        -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
	        -gencode arch=compute_90,code=compute_90 \
	        -c $$f -o $(BUILD)/obj/gpu/$$(basename $$f .cu).o || exit 1; \
	done
	rm -f $@ && ar rcs $@ $(GPU_SRCS:gpu/%.cu=$(BUILD)/obj/gpu/%.o)

$(FOREST_BIN): $(CLI_OBJS) $(LIBFOREST) $(LIBCUDA_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $(CLI_OBJS) $(LIBFOREST) $(CUDA_LIBS) $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c $(LIBFOREST) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit -o $@ $< $(LIBFOREST) $(LDLIBS_ALL)

# the codec's drivers: tests/suite_codec.sh builds test_codec (also with
# SANITIZE=1), float_text_sweep is run by hand (see its header)
$(BUILD)/tests/codec/%: tests/codec/%.c $(LIBCODEC) $(wildcard tests/codec/*.h codec/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Icodec -Itests/unit -o $@ $< $(LIBCODEC) -lyajl $(LDLIBS_ALL)

# the codec's number paths against libc (bench/codec/run.sh)
$(BUILD)/bin/codec_micro: bench/codec/codec_micro.c $(LIBCODEC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Icodec -o $@ $< $(LIBCODEC) $(LDLIBS_ALL)

# GPU benchmark driver and contribution checks (bench/gpu.sh); need the
# CUDA build
gpu-bench: $(BUILD)/bin/gpu_bench $(BUILD)/bin/gpu_shap_checks
$(BUILD)/bin/gpu_bench: bench/gpu_bench.c $(LIBFOREST) $(LIBCUDA_A)
	@test -n "$(USE_CUDA)" || { echo "gpu-bench needs nvcc (FOREST_CUDA=on)"; exit 1; }
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBFOREST) $(CUDA_LIBS) $(LDLIBS_ALL)
$(BUILD)/bin/gpu_shap_checks: tests/gpu_cpu/shap_checks.c $(wildcard tests/unit/*.h) $(LIBFOREST) $(LIBCUDA_A)
	@test -n "$(USE_CUDA)" || { echo "gpu-bench needs nvcc (FOREST_CUDA=on)"; exit 1; }
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DSHAP_CHECKS_CUDA -Igpu -Itests/unit -o $@ $< \
	    $(LIBFOREST) $(CUDA_LIBS) $(LIBFOREST) $(LDLIBS_ALL)

# ---- the kernels on CPU threads (gpu/cpu/, tests/suite_gpu_cpu.sh) -------
# g++ compiles the kernel sources as they are through the CPU execution
# layer (gpu/cpu/cuda_runtime.h), into `forest` check builds with
# `--device gpu-cpu`, once under ASan+UBSan and once under TSan (not with
# SANITIZE=1: TSan cannot link its ASan libforest.a).  Needs no nvcc.
GPUCPU      := $(BUILD)/gpu-cpu
GPUCPU_SANS := asan $(if $(filter 1,$(SANITIZE)),,tsan)
GPUCPU_SAN_asan := -fsanitize=address,undefined -fno-sanitize-recover=undefined
GPUCPU_SAN_tsan := -fsanitize=thread
GPUCPU_CXX  := $(CXX) -std=c++17 -O1 -g -pthread -fno-omit-frame-pointer $(WARN) \
               -Iforest -Igpu -Igpu/cpu -include gpu/cpu/cuda_runtime.h -x c++
GPUCPU_SRCS := gpu/gpu_kernel.cu gpu/gpu_layout.cu gpu/gpu_shap.cu \
               gpu/gpu_shap_paths.cu gpu/cpu/exec_gpu_cpu.cc \
               gpu/cpu/cuda_cpu.cc tests/gpu_cpu/kernel_checks.cc
GPUCPU_HDRS := $(wildcard gpu/*.h gpu/*.cuh gpu/cpu/*.h forest/*.h)
GPUCPU_LINK  = $(CXX) -pthread $(GPUCPU_SAN_$*) -o $@ $^ -lm

define GPUCPU_OBJ
$$(GPUCPU)/%/obj/$(basename $(notdir $(1))).o: $(1) $$(GPUCPU_HDRS)
	@mkdir -p $$(dir $$@)
	$$(GPUCPU_CXX) $$(GPUCPU_SAN_$$*) -c $$< -o $$@
endef
$(foreach s,$(GPUCPU_SRCS),$(eval $(call GPUCPU_OBJ,$(s))))

$(GPUCPU)/%/obj/cli_common.o: cli/cli_common.c $(wildcard cli/*.h) $(GPUCPU_HDRS)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O1 -g -pthread $(WARN) -Iforest \
	    -DFOREST_GPU_CPU $(GPUCPU_SAN_$*) -c $< -o $@

GPUCPU_EXEC := gpu_kernel gpu_layout gpu_shap gpu_shap_paths exec_gpu_cpu cuda_cpu
$(GPUCPU)/%/bin/forest: $(foreach o,cli_common $(GPUCPU_EXEC),$(GPUCPU)/%/obj/$(o).o) \
                        $(filter-out %/cli_common.o,$(CLI_OBJS)) $(LIBFOREST)
	@mkdir -p $(dir $@)
	$(GPUCPU_LINK)

$(GPUCPU)/%/bin/kernel_checks: $(GPUCPU)/%/obj/kernel_checks.o $(GPUCPU)/%/obj/cuda_cpu.o
	@mkdir -p $(dir $@)
	$(GPUCPU_LINK)

# the GPU TreeSHAP kernels against the libraries' contributions
$(GPUCPU)/%/obj/shap_checks.o: tests/gpu_cpu/shap_checks.c $(wildcard tests/unit/*.h) $(GPUCPU_HDRS)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O1 -g -pthread $(WARN) -Iforest -Igpu \
	    -Itests/unit $(GPUCPU_SAN_$*) -c $< -o $@

$(GPUCPU)/%/bin/shap_checks: $(foreach o,shap_checks $(GPUCPU_EXEC),$(GPUCPU)/%/obj/$(o).o) $(LIBFOREST)
	@mkdir -p $(dir $@)
	$(GPUCPU_LINK)

.SECONDARY: $(foreach s,$(GPUCPU_SANS),$(foreach o,cli_common shap_checks $(basename $(notdir $(GPUCPU_SRCS))),$(GPUCPU)/$(s)/obj/$(o).o))
.PHONY: gpu-cpu test-gpu-cpu
gpu-cpu: $(foreach s,$(GPUCPU_SANS),$(foreach b,forest kernel_checks shap_checks,$(GPUCPU)/$(s)/bin/$(b)))
test-gpu-cpu: gpu-cpu
	bash tests/suite_gpu_cpu.sh $(ABS_BUILD)

# ---- NGINX module, built against the packaged nginx (nginx-dev) ----------
NGX_SRC     ?= /usr/share/nginx/src
NGX_BUILD   := $(ABS_BUILD)/nginx
NGX_CC_OPT  := -O2 -g $(SAN_FLAGS) $(CUDA_DEFS)
NGX_LD_OPT  := $(SAN_FLAGS)
MODULE_SRCS := $(sort $(wildcard ngx_module/*.c ngx_module/*.h codec/*.h lua/*.c lua/*.h))

# configure again only when the set of module files or `config` changes
$(BUILD)/module-files: FORCE
	@mkdir -p $(BUILD)
	@echo "$(notdir $(MODULE_SRCS)) cuda=$(USE_CUDA) san=$(SANITIZE)" > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@

$(NGX_BUILD)/Makefile: config VERSION $(BUILD)/module-files $(BUILD)/.deps
	rm -rf $(NGX_BUILD)
	cd $(NGX_SRC) && . ./conf_flags && \
	    FOREST_ROOT=$(CURDIR) FOREST_BUILD=$(ABS_BUILD) FOREST_CUDA_LIBS="$(if $(USE_CUDA),-L$(CUDA_HOME)/lib64 -lcudart_static -lrt -ldl -lstdc++,)" \
	    ./configure "$${NGX_CONF_FLAGS[@]}" --with-cc-opt="$(NGX_CC_OPT)" \
	        --with-ld-opt="$(NGX_LD_OPT)" --builddir=$(NGX_BUILD) \
	        --add-dynamic-module=$(CURDIR) > $(ABS_BUILD)/configure.log 2>&1 \
	    || { tail -30 $(ABS_BUILD)/configure.log; exit 1; }

$(MODULE): $(NGX_BUILD)/Makefile $(LIBFOREST) $(LIBCODEC) $(LIBCUDA_A) $(MODULE_SRCS) FORCE
	cd $(NGX_SRC) && $(MAKE) -s -f $(NGX_BUILD)/Makefile modules
	cp $(NGX_BUILD)/ngx_http_forest_module.so $@

FORCE:

# ---- tests ------------------------------------------------------------
# The suites' Python: pinned packages in venvs of the project's own, under
# the top build dir so that SANITIZE=1 and other BUILD dirs share them.
VENV        := build/venv
VENV_SKL121 := build/venv-skl121
.PHONY: venv
venv: $(VENV)/.stamp $(VENV_SKL121)/.stamp
$(VENV)/.stamp: scripts/requirements.txt scripts/make_venv.sh
	bash scripts/make_venv.sh $(VENV) scripts/requirements.txt
$(VENV_SKL121)/.stamp: scripts/requirements-skl121.txt scripts/make_venv.sh
	bash scripts/make_venv.sh $(VENV_SKL121) scripts/requirements-skl121.txt

test: all $(TEST_BINS) venv gpu-cpu
	FOREST_VENV=$(VENV) FOREST_VENV_SKL121=$(VENV_SKL121) bash tests/run-all.sh $(BUILD)

unit-test: $(TEST_BINS)
	@for t in $(TEST_BINS); do echo "== $$t"; $$t || exit 1; done

# The AArch64 build under qemu-user (tests/arm64.sh: cross build into
# BUILD/arm64, unit tests, parity, the module's objects); the cross
# toolchain and qemu-user are installed here, for this target only.
ARM64_PKGS := gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
.PHONY: test-arm64
test-arm64: module $(BUILD)/.deps-arm64
	bash tests/arm64.sh $(ABS_BUILD)
$(BUILD)/.deps-arm64:
	@mkdir -p $(BUILD)
	command -v aarch64-linux-gnu-gcc > /dev/null && command -v qemu-aarch64 > /dev/null \
	    || { S=$$([ "$$(id -u)" -eq 0 ] || echo sudo); $$S apt-get update -qq \
	         && DEBIAN_FRONTEND=noninteractive $$S apt-get install -y -qq \
	            --no-install-recommends $(ARM64_PKGS); }
	@touch $@

# t/ alone or some of its files (make t T=t/020-kserve.t), under a
# CPAN-installed Test::Nginx if perl finds one, else t/lib's runner;
# t-real under the real Test::Nginx in TEST_NGINX_LIB (its lib dir).
T ?= t/*.t
.PHONY: t t-real
t: module
	bash tests/suite_t.sh $(BUILD) $(T)
t-real: module
	bash tests/t_real.sh $(BUILD) "$(TEST_NGINX_LIB)" $(T)

# ---- demo, fuzzing, benchmarks -----------------------------------------
demo: all
	bash scripts/demo.sh $(BUILD)

FUZZ_TIME ?= 60
fuzz:
	bash fuzz/run.sh $(FUZZ_TIME)

# 13 targets, 2 at a time: 7 rounds of 36 s, keeping CI within 30 minutes
# with make test (`make fuzz` runs longer)
fuzz-ci:
	bash fuzz/run.sh 36

bench: all
	bash bench/run.sh $(BUILD)

# loopback load (60 s) and faults (about 2 min); `make soak` runs 10 minutes.
# Neither is part of `make test` (tests/suite_faults_short.sh is).
reliability: module
	bash tests/reliability/load.sh $(ABS_BUILD)
	bash tests/reliability/faults.sh $(ABS_BUILD)

soak: module
	bash tests/reliability/soak.sh $(ABS_BUILD)

# Debian packages (debian/) into build/deb/; tests/suite_deb.sh installs them
.PHONY: deb
deb:
	bash scripts/build-deb.sh

# The container image (Containerfile, deploy/container/) from that package,
# built with podman; test-image runs it (tests/image/smoke.sh, about 10 s).
.PHONY: image test-image
image: deb
	bash scripts/build-image.sh

test-image: image
	bash tests/image/smoke.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
