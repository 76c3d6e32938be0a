/*
 * Optimizer steps over a batch of shards concatenated into one buffer per array. Shard s starts on a CHUNK
 * boundary; chunk c of the batch belongs to shard chunk_shard[c], and elements at or past shard_end[s] are padding.
 * Per-shard scalars (bias corrections, learning rates, flags) are computed on the host in double exactly as the CPU
 * optimizers compute them, rounded to float, NSC of them per shard in sc. Element arithmetic is float32 in the CPU
 * kernels' order of operations; FP_CONTRACT OFF stops the compiler fusing a*b+c into an fma (Java never does).
 * Every kernel has the same arguments: p, g, three slots (unused ones bound to a dummy), sc, chunk_shard, shard_end.
 */
#pragma OPENCL FP_CONTRACT OFF

#define NSC 16

#define PROLOGUE                                            \
    const int i = (int) get_global_id(0);                  \
    const int s = chunk_shard[i / CHUNK];                  \
    if (i >= shard_end[s]) return;                         \
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

/* SGD. k: sign, wd, addL2, negLr, hasMomentum, momentum, firstStep, nesterov, 1-dampening. s0: momentum_buffer. */
kernel void sgd(ARGS) {
    PROLOGUE
    float d = k[0] * g[i];
    if (k[2] != 0.0f) d = d + k[1] * p[i];
    if (k[4] == 0.0f) {
        p[i] = p[i] + k[3] * d;
        return;
    }
    const float mom = k[5];
    float u;
    if (k[6] != 0.0f) {
        s0[i] = d;
        u = k[7] != 0.0f ? d + mom * d : d;
    } else {
        float b = s0[i] * mom + k[8] * d;
        s0[i] = b;
        u = k[7] != 0.0f ? d + mom * b : b;
    }
    p[i] = p[i] + k[3] * u;
}

/* Adam and AdamW. k: sign, l2, addL2, decay, decayFactor, b1, 1-b1, b2, 1-b2, negStepSize, sqrt(bc2), eps, amsgrad.
   s0: exp_avg, s1: exp_avg_sq, s2: max_exp_avg_sq. */
kernel void adam(ARGS) {
    PROLOGUE
    float pi = k[3] != 0.0f ? p[i] * k[4] : p[i];
    float gi = k[0] * g[i];
    if (k[2] != 0.0f) gi = gi + k[1] * pi;
    float mi = s0[i] * k[5] + k[6] * gi;
    float vi = s1[i] * k[7] + (k[8] * gi) * gi;
    s0[i] = mi;
    s1[i] = vi;
    float denom;
    if (k[12] != 0.0f) {
        float vm = jmax(s2[i], vi);
        s2[i] = vm;
        denom = sqrt(vm) / k[10] + k[11];
    } else {
        denom = sqrt(vi) / k[10] + k[11];
    }
    p[i] = pi + (k[9] * mi) / denom;
}

/* RMSprop. k: sign, wd, addL2, alpha, 1-alpha, eps, negLr, momentum, hasMomentum, centered.
   s0: square_avg, s1: momentum_buffer, s2: grad_avg. */
kernel void rmsprop(ARGS) {
    PROLOGUE
    float gi = k[0] * g[i];
    if (k[2] != 0.0f) gi = gi + k[1] * p[i];
    float sq = s0[i] * k[3] + (k[4] * gi) * gi;
    s0[i] = sq;
    float avg;
    if (k[9] != 0.0f) {
        float ga = s2[i] * k[3] + k[4] * gi;
        s2[i] = ga;
        avg = sqrt(sq + (-1.0f * ga) * ga);
    } else {
        avg = sqrt(sq);
    }
    avg = avg + k[5];
    if (k[8] != 0.0f) {
        float b = s1[i] * k[7] + gi / avg;
        s1[i] = b;
        p[i] = p[i] + k[6] * b;
    } else {
        p[i] = p[i] + (k[6] * gi) / avg;
    }
}

/* Adagrad. k: sign, wd, addL2, negClr, eps. s0: sum. */
kernel void adagrad(ARGS) {
    PROLOGUE
    float gi = k[0] * g[i];
    if (k[2] != 0.0f) gi = gi + k[1] * p[i];
    float sum = s0[i] + gi * gi;
    s0[i] = sum;
    float std = sqrt(sum) + k[4];
    p[i] = p[i] + (k[3] * gi) / std;
}

/* Adamax. k: sign, wd, addL2, b1, 1-b1, b2, eps, negClr. s0: exp_avg, s1: exp_inf. */
kernel void adamax(ARGS) {
    PROLOGUE
    float gi = k[0] * g[i];
    if (k[2] != 0.0f) gi = gi + k[1] * p[i];
    float mi = s0[i] * k[3] + k[4] * gi;
    float ui = jmax(s1[i] * k[5], fabs(gi) + k[6]);
    s0[i] = mi;
    s1[i] = ui;
    p[i] = p[i] + (k[7] * mi) / ui;
}

/* NAdam (torch 1.13's mu_product already applied on the host). k: sign, wd, addL2, b1, 1-b1, b2, 1-b2, eps, bc2,
   gradCoef, avgCoef. s0: exp_avg, s1: exp_avg_sq. */
kernel void nadam(ARGS) {
    PROLOGUE
    float gi = k[0] * g[i];
    if (k[2] != 0.0f) gi = gi + k[1] * p[i];
    float mi = s0[i] * k[3] + k[4] * gi;
    float vi = s1[i] * k[5] + (k[6] * gi) * gi;
    s0[i] = mi;
    s1[i] = vi;
    float denom = sqrt(vi / k[8]) + k[7];
    float pi = p[i] + (k[9] * gi) / denom;
    p[i] = pi + (k[10] * mi) / denom;
}

/* RAdam. k: sign, wd, addL2, b1, 1-b1, b2, 1-b2, eps, bc1, lr, sqrt(bc2), rect, rectified.
   s0: exp_avg, s1: exp_avg_sq. */
kernel void radam(ARGS) {
    PROLOGUE
    float gi = k[0] * g[i];
    if (k[2] != 0.0f) gi = gi + k[1] * p[i];
    float mi = s0[i] * k[3] + k[4] * gi;
    float vi = s1[i] * k[5] + (k[6] * gi) * gi;
    s0[i] = mi;
    s1[i] = vi;
    float mHatLr = (mi / k[8]) * k[9];
    if (k[12] != 0.0f) {
        float adaptiveLr = (1.0f / (sqrt(vi) + k[7])) * k[10];
        p[i] = p[i] - (mHatLr * adaptiveLr) * k[11];
    } else {
        p[i] = p[i] - mHatLr;
    }
}

/* Lion. k: sign, b1, 1-b1, b2, 1-b2, lr, wd. s0: exp_avg. sign(c) as the CPU's branch-free clamp. */
kernel void lion(ARGS) {
    PROLOGUE
    float gi = k[0] * g[i];
    float m = s0[i];
    float c = k[1] * m + k[2] * gi;
    float sgn = jmax(jmin(c * 0x1p126f * 0x1p24f, 1.0f), -1.0f);
    float u = sgn + k[6] * p[i];
    p[i] = p[i] - k[5] * u;
    s0[i] = k[3] * m + k[4] * gi;
}

/* LAMB, three launches: moments, per-chunk norms (reduced per shard on the host), apply.
   k: sign, b1, 1-b1, b2, 1-b2, eps, wd, bc1, bc2. s0: exp_avg, s1: exp_avg_sq. */
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
