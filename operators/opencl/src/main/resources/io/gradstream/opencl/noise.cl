/*
 * Standard normals from a ChaCha20 keystream (RFC 8439 block function) in counter mode, the construction of the
 * core's NoiseGenerator: element e uses keystream bytes [8e, 8e + 8) as a little-endian 64-bit word; pairs (2p, 2p+1)
 * go through Box-Muller. One work-item computes one 64-byte block = 8 elements. The keystream is bit-identical to the
 * JDK's; log/sqrt/cos/sin are the device's, not fdlibm's, so the normals agree with the CPU's to a few ulp only.
 */
#ifdef HAS_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real_t;
#else
typedef float real_t;
#endif

#define ROTL(x, n) rotate((uint) (x), (uint) (n))
#define QR(a, b, c, d)                               \
    a += b; d ^= a; d = ROTL(d, 16);                 \
    c += d; b ^= c; b = ROTL(b, 12);                 \
    a += b; d ^= a; d = ROTL(d, 8);                  \
    c += d; b ^= c; b = ROTL(b, 7);

/* key: 8 words, nonce: 3 words (little-endian, as RFC 8439 reads them); out[8 * b + j] for block first_block + b. */
kernel void chacha_normals(global const uint* key, global const uint* nonce, const uint first_block,
        global real_t* out) {
    const uint b = (uint) get_global_id(0);
    uint in[16] = {0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u,
        key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7],
        first_block + b, nonce[0], nonce[1], nonce[2]};
    uint x[16];
    for (int i = 0; i < 16; i++) x[i] = in[i];
    for (int round = 0; round < 10; round++) {
        QR(x[0], x[4], x[8], x[12]);
        QR(x[1], x[5], x[9], x[13]);
        QR(x[2], x[6], x[10], x[14]);
        QR(x[3], x[7], x[11], x[15]);
        QR(x[0], x[5], x[10], x[15]);
        QR(x[1], x[6], x[11], x[12]);
        QR(x[2], x[7], x[8], x[13]);
        QR(x[3], x[4], x[9], x[14]);
    }
    for (int i = 0; i < 16; i++) x[i] += in[i];
    for (int p = 0; p < 4; p++) {
        const ulong w1 = ((ulong) x[4 * p + 1] << 32) | x[4 * p];
        const ulong w2 = ((ulong) x[4 * p + 3] << 32) | x[4 * p + 2];
#ifdef HAS_FP64
        const double u1 = (double) ((w1 >> 11) + 1) * 0x1.0p-53;
        const double u2 = (double) (w2 >> 11) * 0x1.0p-53;
        const double r = sqrt(-2.0 * log(u1));
        const double theta = 6.283185307179586 * u2;
#else
        /* Without fp64: 24-bit uniforms, statistically equivalent but not the CPU's values. */
        const float u1 = (float) ((w1 >> 40) + 1) * 0x1.0p-24f;
        const float u2 = (float) (w2 >> 40) * 0x1.0p-24f;
        const float r = sqrt(-2.0f * log(u1));
        const float theta = 6.2831855f * u2;
#endif
        out[8 * b + 2 * p] = r * cos(theta);
        out[8 * b + 2 * p + 1] = r * sin(theta);
    }
}
