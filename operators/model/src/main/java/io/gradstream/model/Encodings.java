package io.gradstream.model;

import io.gradstream.core.codec.Encoding;
import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.codec.PayloadCodecs;

/** The one mapping between the records' Avro {@code Encoding} and the numeric core's codecs. */
public final class Encodings {
    private Encodings() {}

    /** The core's encoding of an Avro encoding symbol (the two enums list the same names). */
    public static Encoding core(io.gradstream.schemas.Encoding avro) {
        return Encoding.valueOf(avro.name());
    }

    /** The Avro symbol of a core encoding. */
    public static io.gradstream.schemas.Encoding avro(Encoding core) {
        return io.gradstream.schemas.Encoding.valueOf(core.name());
    }

    /**
     * A new codec that decodes payloads of {@code avro}; TOPK reads any k (a decoder learns k from the payload). Codecs
     * are not thread-safe: callers keep their own.
     */
    public static PayloadCodec decoder(io.gradstream.schemas.Encoding avro) {
        Encoding e = core(avro);
        return e == Encoding.TOPK ? PayloadCodecs.topK(1) : PayloadCodecs.forEncoding(e);
    }

    /** A new codec that encodes dense payloads (not TOPK, which needs its k) in {@code avro}. */
    public static PayloadCodec encoder(io.gradstream.schemas.Encoding avro) {
        return PayloadCodecs.forEncoding(core(avro));
    }
}
