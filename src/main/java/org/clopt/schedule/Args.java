package org.clopt.schedule;

import java.util.HashMap;
import java.util.Map;
import org.clopt.schedule.Signature.Floats;
import org.clopt.schedule.Signature.Kind;
import org.clopt.schedule.Signature.Param;

/**
 * A scheduler's arguments by PyTorch name, as a builder or a text spec gives them; an argument
 * not given reads as its {@link Signature} default.
 */
final class Args {
    private final Signature signature;
    private final Map<String, Object> values = new HashMap<>();

    Args(Signature signature) {
        this.signature = signature;
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    /** Sets an argument (null is Python's None). */
    Args put(String name, Object value) {
        signature.param(name);
        values.put(name, value);
        return this;
    }

    private Object get(String name) {
        Param p = signature.param(name);
        if (values.containsKey(name)) {
            return values.get(name);
        }
        if (p.required()) {
            throw new IllegalArgumentException(signature.name + ": missing required argument " + name);
        }
        return p.defaultValue();
    }

    int integer(String name) {
        Object v = get(name);
        if (v == null) {
            throw new IllegalArgumentException(signature.name + ": " + name + " must be an integer, not None");
        }
        return (Integer) v;
    }

    /** An OPTIONAL_INT: null for None. */
    Integer optionalInteger(String name) {
        return (Integer) get(name);
    }

    double number(String name) {
        return (Double) get(name);
    }

    Floats floats(String name) {
        return (Floats) get(name);
    }

    int[] integers(String name) {
        return ((int[]) get(name)).clone();
    }

    boolean flag(String name) {
        return (Boolean) get(name);
    }

    String string(String name) {
        return (String) get(name);
    }

    /** A FUNCTION argument: null when not given. */
    <T> T function(String name, Class<T> type) {
        return type.cast(get(name));
    }

    /** last_epoch, which must be -1: resuming goes through the state dict. */
    void checkLastEpoch() {
        if (signature.params.stream().anyMatch(p -> p.kind() == Kind.LAST_EPOCH)) {
            int lastEpoch = integer("last_epoch");
            if (lastEpoch != -1) {
                throw new IllegalArgumentException(signature.name + ": invalid last_epoch: " + lastEpoch
                        + " (must be -1: a schedule starts at its beginning; to resume one, load its "
                        + "state dict)");
            }
        }
    }
}
