package io.gradstream.core.codec;

/**
 * The payload encodings of float32 vectors; the symbols and their order mirror the Avro enum
 * {@code io.gradstream.schemas.Encoding}, so new symbols are only ever appended.
 */
public enum Encoding {
    /** Raw IEEE binary32, 4 bytes per element. */
    FP32,
    /** IEEE binary16 (round to nearest even), 2 bytes per element. */
    FP16,
    /** bfloat16 (upper half of binary32, round to nearest even), 2 bytes per element. */
    BF16,
    /** Symmetric int8 per block of {@value Int8BlockCodec#BLOCK_SIZE} elements with a float32 scale per block. */
    INT8_BLOCK,
    /** The k largest magnitudes as (index, value) pairs; everything else decodes to zero. */
    TOPK
}
