package org.clopt;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;

/**
 * Strict JSON for checkpoint metadata: standard JSON only (no unquoted keys, comments or single
 * quotes, which a lenient parser accepts), no duplicate keys (which a parser would otherwise
 * resolve silently, last one wins), nothing after the value.
 */
final class Json {
    private Json() {
    }

    /**
     * Parses {@code text}, the metadata entry {@code what}.
     *
     * @throws CheckpointException naming {@code what} and the problem
     */
    static JsonElement parse(String what, String text) {
        if (text == null) {
            throw new CheckpointException("metadata " + what + " is missing");
        }
        JsonReader in = new JsonReader(new StringReader(text));
        in.setStrictness(Strictness.STRICT);
        try {
            JsonElement value = read(what, in);
            if (in.peek() != JsonToken.END_DOCUMENT) {
                throw new CheckpointException("metadata " + what + " has text after its JSON value");
            }
            return value;
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            // The parser's own message points to its troubleshooting pages; say where instead.
            throw new CheckpointException("metadata " + what + " is not valid JSON (strict JSON, near "
                    + in.getPath() + ")", e);
        }
    }

    private static JsonElement read(String what, JsonReader in) throws IOException {
        switch (in.peek()) {
            case BEGIN_ARRAY:
                JsonArray array = new JsonArray();
                in.beginArray();
                while (in.hasNext()) {
                    array.add(read(what, in));
                }
                in.endArray();
                return array;
            case BEGIN_OBJECT:
                JsonObject object = new JsonObject();
                in.beginObject();
                while (in.hasNext()) {
                    String name = in.nextName();
                    if (object.has(name)) {
                        throw new CheckpointException("metadata " + what + " has the key '" + name + "' twice");
                    }
                    object.add(name, read(what, in));
                }
                in.endObject();
                return object;
            case STRING:
                return new JsonPrimitive(in.nextString());
            case NUMBER:
                return new JsonPrimitive(new BigDecimal(in.nextString()));
            case BOOLEAN:
                return new JsonPrimitive(in.nextBoolean());
            case NULL:
                in.nextNull();
                return JsonNull.INSTANCE;
            default:
                throw new CheckpointException("metadata " + what + " is not valid JSON at " + in.getPath());
        }
    }
}
