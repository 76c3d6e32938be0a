/*
 * Optimizer steps over a batch of shards concatenated into one buffer per array. Shard s starts on a CHUNK
 * boundary and the elementwise kernels run with work-groups of exactly CHUNK items, so work-group c belongs to shard
 * chunk_shard[c] as a whole: the shard's scalars are uniform across the group, which lets a CPU runtime such as POCL
 * vectorise the group (a per-item shard lookup or an early return cost it 5x, measured). The padding past a shard's
 * end is computed too and never read back. Per-shard scalars (bias corrections, learning rates, flags) are the core
 * optimizer's StepScalars record, the very values its CPU loop uses: its components in declaration order, flags as
 * 1 or 0, NSC per shard in sc (OptimizerKernels packs them). Element
 * arithmetic is float32 in the CPU kernels' order of operations; FP_CONTRACT OFF stops the compiler fusing a*b+c
 * into an fma (Java never does). Every elementwise kernel has the same arguments: p, g, three slots (the
 * optimizer's slots() in order, unused ones bound to a dummy), sc, chunk_shard, shard_end.
 */
#pragma OPENCL FP_CONTRACT OFF

#define NSC 16

#define PROLOGUE                                            \
    const int i = (int) get_global_id(0);                  \
    const int s = chunk_shard[get_group_id(0)];            \
    global const float* k = sc + s * NSC;

#define ARGS global float* p, global const float* g, global float* s0, global float* s1, global float* s2, \
    global const float* sc, global const int* chunk_shard, global const int* shard_end

/* Java's Math.max/min: NaN propagates, and +0 beats -0 (fmax/fmin leave both unspecified). */
inline float jmax(float a, float b) {
    if (isnan(a) || isnan(b)) return NAN;
    if (a > b) return a;
    if (b > a) return b;
    return signbit(a) ? b : a;
}

inline float jmin(float a, float b) {
    if (isnan(a) || isnan(b)) return NAN;
    if (a < b) return a;
    if (b < a) return b;
    return signbit(a) ? a : b;
}

/* Scalars are read into private values first and flags steer plain if statements: a conditional expression with a
   load in it (flag ? p[i] * f : p[i]) kept POCL from vectorising (measured 5x slower). */

/* SGD. k: StepScalars.Sgd (sign, wd, addL2, negLr, hasMomentum, momentum, firstStep, nesterov, 1-dampening).
   s0: momentum_buffer.
   Without momentum s0 is never touched, so that case is its own kernel, as for Adam. */
kernel void sgd(ARGS) {
    PROLOGUE
    const float sign = k[0], wd = k[1], negLr = k[3];
    const bool addL2 = k[2] != 0.0f;
    const float pi = p[i];
    float d = sign * g[i];
    if (addL2) d = d + wd * pi;
    p[i] = pi + negLr * d;
}

kernel void sgd_momentum(ARGS) {
    PROLOGUE
    const float sign = k[0], wd = k[1], negLr = k[3], mom = k[5], oneMinusDampening = k[8];
    const bool addL2 = k[2] != 0.0f, first = k[6] != 0.0f, nesterov = k[7] != 0.0f;
    const float pi = p[i];
    float d = sign * g[i];
    if (addL2) d = d + wd * pi;
    float b = d;
    if (!first) b = s0[i] * mom + oneMinusDampening * d;
    s0[i] = b;
    float u = b;
    if (nesterov) u = d + mom * b;
    p[i] = pi + negLr * u;
}

/* Adam and AdamW. k: StepScalars.Adam (sign, l2, addL2, decoupledDecay, decayFactor (exactly 1 without decoupled
   decay: x * 1 == x, so no branch), b1, 1-b1, b2, 1-b2, negStepSize, sqrt(bc2), eps, amsgrad).
   s0: exp_avg, s1: exp_avg_sq, s2: max_exp_avg_sq. The variants are separate kernels (a constant argument folds
   away): with a run-time flag POCL still evaluated the amsgrad branch on s2's contents, 7x slower. */
inline void adam_step(const int i, global const float* k, global float* p, global const float* g, global float* s0,
        global float* s1, global float* s2, const bool amsgrad) {
    const float sign = k[0], l2 = k[1], decayFactor = k[4], b1 = k[5], omb1 = k[6], b2 = k[7], omb2 = k[8],
            negStep = k[9], bc2Sqrt = k[10], eps = k[11];
    const bool addL2 = k[2] != 0.0f;
    const float pi = p[i] * decayFactor;
    float gi = sign * g[i];
    if (addL2) gi = gi + l2 * pi;
    const float mi = s0[i] * b1 + omb1 * gi;
    const float vi = s1[i] * b2 + (omb2 * gi) * gi;
    s0[i] = mi;
    s1[i] = vi;
    float vd = vi;
    if (amsgrad) {
        vd = jmax(s2[i], vi);
        s2[i] = vd;
    }
    const float denom = sqrt(vd) / bc2Sqrt + eps;
    p[i] = pi + (negStep * mi) / denom;
}

kernel void adam(ARGS) {
    PROLOGUE
    adam_step(i, k, p, g, s0, s1, s2, false);
}

kernel void adam_amsgrad(ARGS) {
    PROLOGUE
    adam_step(i, k, p, g, s0, s1, s2, true);
}

/* RMSprop. k: StepScalars.RmsProp (sign, wd, addL2, alpha, 1-alpha, eps, negLr, momentum, ...).
   Slots in order: square_avg, then momentum_buffer with momentum, then grad_avg when centered; the step takes them
   as sq, buf, ga. One kernel per (centered, momentum), as for Adam. */
inline void rmsprop_step(const int i, global const float* k, global float* p, global const float* g,
        global float* sq_avg, global float* buf, global float* grad_avg, const bool centered, const bool momentum) {
    const float sign = k[0], wd = k[1], a = k[3], oma = k[4], eps = k[5], negLr = k[6], mom = k[7];
    const bool addL2 = k[2] != 0.0f;
    const float pi = p[i];
    float gi = sign * g[i];
    if (addL2) gi = gi + wd * pi;
    const float sq = sq_avg[i] * a + (oma * gi) * gi;
    sq_avg[i] = sq;
    float centeredSq = sq;
    if (centered) {
        const float ga = grad_avg[i] * a + oma * gi;
        grad_avg[i] = ga;
        centeredSq = sq + (-1.0f * ga) * ga;
    }
    const float avg = sqrt(centeredSq) + eps;
    if (momentum) {
        const float b = buf[i] * mom + gi / avg;
        buf[i] = b;
        p[i] = pi + negLr * b;
    } else {
        p[i] = pi + (negLr * gi) / avg;
    }
}

kernel void rmsprop(ARGS) {
    PROLOGUE
    rmsprop_step(i, k, p, g, s0, s1, s2, false, false);
}

kernel void rmsprop_momentum(ARGS) {
    PROLOGUE
    rmsprop_step(i, k, p, g, s0, s1, s2, false, true);
}

kernel void rmsprop_centered(ARGS) {
    PROLOGUE
    rmsprop_step(i, k, p, g, s0, s2, s1, true, false);
}

kernel void rmsprop_centered_momentum(ARGS) {
    PROLOGUE
    rmsprop_step(i, k, p, g, s0, s1, s2, true, true);
}

/* Adagrad. k: StepScalars.Adagrad (sign, wd, addL2, negClr, eps). s0: sum. */
kernel void adagrad(ARGS) {
    PROLOGUE
    const float sign = k[0], wd = k[1], negClr = k[3], eps = k[4];
    const bool addL2 = k[2] != 0.0f;
    const float pi = p[i];
    float gi = sign * g[i];
    if (addL2) gi = gi + wd * pi;
    const float sum = s0[i] + gi * gi;
    s0[i] = sum;
    const float std = sqrt(sum) + eps;
    p[i] = pi + (negClr * gi) / std;
}

/* Adamax. k: StepScalars.Adamax (sign, wd, addL2, b1, 1-b1, b2, eps, negClr). s0: exp_avg, s1: exp_inf. */
kernel void adamax(ARGS) {
    PROLOGUE
    const float sign = k[0], wd = k[1], b1 = k[3], omb1 = k[4], b2 = k[5], eps = k[6], negClr = k[7];
    const bool addL2 = k[2] != 0.0f;
    const float pi = p[i];
    float gi = sign * g[i];
    if (addL2) gi = gi + wd * pi;
    const float mi = s0[i] * b1 + omb1 * gi;
    const float ui = jmax(s1[i] * b2, fabs(gi) + eps);
    s0[i] = mi;
    s1[i] = ui;
    p[i] = pi + (negClr * mi) / ui;
}

/* NAdam (torch 1.13's mu_product already applied on the host). k: StepScalars.NAdam (sign, wd, addL2, b1, 1-b1,
   b2, 1-b2, eps, bc2, gradCoef, avgCoef, muProduct). s0: exp_avg, s1: exp_avg_sq. */
kernel void nadam(ARGS) {
    PROLOGUE
    const float sign = k[0], wd = k[1], b1 = k[3], omb1 = k[4], b2 = k[5], omb2 = k[6], eps = k[7], bc2 = k[8],
            gradCoef = k[9], avgCoef = k[10];
    const bool addL2 = k[2] != 0.0f;
    const float p0 = p[i];
    float gi = sign * g[i];
    if (addL2) gi = gi + wd * p0;
    const float mi = s0[i] * b1 + omb1 * gi;
    const float vi = s1[i] * b2 + (omb2 * gi) * gi;
    s0[i] = mi;
    s1[i] = vi;
    const float denom = sqrt(vi / bc2) + eps;
    const float p1 = p0 + (gradCoef * gi) / denom;
    p[i] = p1 + (avgCoef * mi) / denom;
}

/* RAdam. k: StepScalars.RAdam (sign, wd, addL2, b1, 1-b1, b2, 1-b2, eps, bc1, lr, sqrt(bc2), rect, rectified).
   s0: exp_avg, s1: exp_avg_sq. */
kernel void radam(ARGS) {
    PROLOGUE
    const float sign = k[0], wd = k[1], b1 = k[3], omb1 = k[4], b2 = k[5], omb2 = k[6], eps = k[7], bc1 = k[8],
            lr = k[9], bc2Sqrt = k[10], rect = k[11];
    const bool addL2 = k[2] != 0.0f, rectified = k[12] != 0.0f;
    const float pi = p[i];
    float gi = sign * g[i];
    if (addL2) gi = gi + wd * pi;
    const float mi = s0[i] * b1 + omb1 * gi;
    const float vi = s1[i] * b2 + (omb2 * gi) * gi;
    s0[i] = mi;
    s1[i] = vi;
    const float mHatLr = (mi / bc1) * lr;
    float step = mHatLr;
    if (rectified) {
        const float adaptiveLr = (1.0f / (sqrt(vi) + eps)) * bc2Sqrt;
        step = (mHatLr * adaptiveLr) * rect;
    }
    p[i] = pi - step;
}

/* Lion. k: StepScalars.Lion (sign, b1, 1-b1, b2, 1-b2, lr, wd). s0: exp_avg. sign(c) as the CPU's branch-free clamp. */
kernel void lion(ARGS) {
    PROLOGUE
    const float sign = k[0], b1 = k[1], omb1 = k[2], b2 = k[3], omb2 = k[4], lr = k[5], wd = k[6];
    const float gi = sign * g[i];
    const float m = s0[i];
    const float pi = p[i];
    const float c = b1 * m + omb1 * gi;
    const float sgn = jmax(jmin(c * 0x1p126f * 0x1p24f, 1.0f), -1.0f);
    const float u = sgn + wd * pi;
    p[i] = pi - lr * u;
    s0[i] = b2 * m + omb2 * gi;
}

/* LAMB, three launches: moments, per-chunk norms (reduced per shard on the host), apply.
   k: StepScalars.Lamb (sign, b1, 1-b1, b2, 1-b2, eps, wd, bc1, bc2, lr). s0: exp_avg, s1: exp_avg_sq. */
kernel void lamb_moments(ARGS) {
    PROLOGUE
    float gi = k[0] * g[i];
    float mi = k[1] * s0[i] + k[2] * gi;
    float vi = k[3] * s1[i] + (k[4] * gi) * gi;
    s0[i] = mi;
    s1[i] = vi;
}

inline float lamb_update(float m, float v, float p, global const float* k) {
    float mHat = m / k[7];
    float vHat = v / k[8];
    float r = mHat / (sqrt(vHat) + k[5]);
    return r + k[6] * p;
}

#ifdef HAS_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t;
#else
typedef float acc_t;
#endif

/* One work-item per chunk: sums of p^2 and u^2 over the chunk, in order, in double where the device has it (the CPU
   sums in double). partial[2c], partial[2c+1]. */
kernel void lamb_norms(global const float* p, global const float* s0, global const float* s1,
        global const float* sc, global const int* chunk_shard, global const int* shard_end, global acc_t* partial) {
    const int c = (int) get_global_id(0);
    const int s = chunk_shard[c];
    global const float* k = sc + s * NSC;
    const int end = min(c * CHUNK + CHUNK, shard_end[s]);
    acc_t pSq = 0;
    acc_t uSq = 0;
    for (int i = c * CHUNK; i < end; i++) {
        float u = lamb_update(s0[i], s1[i], p[i], k);
        pSq += (acc_t) p[i] * (acc_t) p[i];
        uSq += (acc_t) u * (acc_t) u;
    }
    partial[2 * c] = pSq;
    partial[2 * c + 1] = uSq;
}

/* p = p - (lr * trust ratio) * u with the shard's scaled learning rate in slr. */
kernel void lamb_apply(ARGS, global const float* slr) {
    PROLOGUE
    float u = lamb_update(s0[i], s1[i], p[i], k);
    p[i] = p[i] - slr[s] * u;
}
