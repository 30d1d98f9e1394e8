package org.clopt.schedule;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a scheduler spec, a constructor call written as in Python without the optimizer:
 * {@code CosineAnnealingLR(T_max=90, eta_min=1e-5)}, {@code MultiStepLR([2, 5, 9], 0.5)}.
 * Values are ints, floats ({@code 1e-5}, {@code .5}, {@code -3.}), {@code True}, {@code False},
 * {@code None}, strings in {@code '} or {@code "} (no escapes) and lists or tuples of these;
 * positional arguments come before keyword ones. A bare name stands for a call without arguments.
 */
final class SpecParser {
    /** Python's None in a parsed call. */
    static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };

    /** A parsed call: the class name, then its positional and keyword arguments. */
    record Call(String name, List<Object> positional, Map<String, Object> keywords) {
    }

    private final String text;
    private int at;

    private SpecParser(String text) {
        this.text = text;
    }

    static Call parse(String spec) {
        if (spec == null) {
            throw new IllegalArgumentException("the scheduler spec is null");
        }
        return new SpecParser(spec).call();
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("invalid scheduler spec \"" + text.replaceAll("\\s", " ")
                + "\": " + what + (at < text.length() ? " at column " + (at + 1) : " at its end"));
    }

    private void skipSpaces() {
        while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
            at++;
        }
    }

    private boolean accept(char c) {
        skipSpaces();
        if (at < text.length() && text.charAt(at) == c) {
            at++;
            return true;
        }
        return false;
    }

    private void expect(char c, String what) {
        if (!accept(c)) {
            throw error("expected " + what);
        }
    }

    private Call call() {
        skipSpaces();
        String name = identifier();
        if (name == null) {
            throw error("expected a scheduler class name");
        }
        List<Object> positional = new ArrayList<>();
        Map<String, Object> keywords = new LinkedHashMap<>();
        if (accept('(')) {
            while (!accept(')')) {
                skipSpaces();
                int start = at;
                String key = identifier();
                if (key != null && accept('=')) {
                    if (keywords.containsKey(key)) {
                        at = start;
                        throw error("keyword argument repeated: " + key);
                    }
                    keywords.put(key, value());
                } else {
                    at = start;
                    if (!keywords.isEmpty()) {
                        throw error("positional argument follows keyword argument");
                    }
                    positional.add(value());
                }
                if (!accept(',')) {
                    expect(')', "',' or ')'");
                    break;
                }
            }
        }
        skipSpaces();
        if (at < text.length()) {
            throw error("unexpected '" + text.charAt(at) + "'");
        }
        return new Call(name, positional, keywords);
    }

    private String identifier() {
        int start = at;
        if (at < text.length() && Character.isJavaIdentifierStart(text.charAt(at)) && text.charAt(at) != '$') {
            at++;
            while (at < text.length() && Character.isJavaIdentifierPart(text.charAt(at)) && text.charAt(at) != '$') {
                at++;
            }
            return text.substring(start, at);
        }
        return null;
    }

    private Object value() {
        skipSpaces();
        if (at >= text.length()) {
            throw error("expected a value");
        }
        char c = text.charAt(at);
        if (c == '[' || c == '(') {
            return sequence(c);
        }
        if (c == '\'' || c == '"') {
            int end = text.indexOf(c, at + 1);
            if (end < 0) {
                throw error("unterminated string");
            }
            String s = text.substring(at + 1, end);
            if (s.indexOf('\\') >= 0) {
                throw error("escapes in strings are not supported");
            }
            at = end + 1;
            return s;
        }
        int start = at;
        String name = identifier();
        if (name != null) {
            switch (name) {
                case "True":
                    return Boolean.TRUE;
                case "False":
                    return Boolean.FALSE;
                case "None":
                    return NONE;
                default:
                    at = start;
                    throw error("name '" + name + "' is not defined (write a string in quotes: '" + name + "')");
            }
        }
        return number();
    }

    /** A list {@code [a, b]} or a tuple {@code (a, b)}; {@code (a)} is just a. */
    private Object sequence(char open) {
        char close = open == '[' ? ']' : ')';
        at++;
        List<Object> items = new ArrayList<>();
        boolean comma = false;
        while (!accept(close)) {
            items.add(value());
            comma = accept(',');
            if (!comma) {
                expect(close, "',' or '" + close + "'");
                break;
            }
        }
        if (open == '(' && items.size() == 1 && !comma) {
            return items.get(0);
        }
        return items;
    }

    private Object number() {
        int start = at;
        boolean negative = false;
        if (text.charAt(at) == '+' || text.charAt(at) == '-') {
            negative = text.charAt(at) == '-';
            at++;
            skipSpaces();
        }
        int digits = at;
        boolean isFloat = false;
        while (at < text.length() && Character.isDigit(text.charAt(at))) {
            at++;
        }
        if (at < text.length() && text.charAt(at) == '.') {
            isFloat = true;
            at++;
            while (at < text.length() && Character.isDigit(text.charAt(at))) {
                at++;
            }
        }
        String mantissa = text.substring(digits, at);
        if (mantissa.isEmpty() || mantissa.equals(".")) {
            at = start;
            throw error("expected a value");
        }
        if (at < text.length() && (text.charAt(at) == 'e' || text.charAt(at) == 'E')) {
            int e = at++;
            if (at < text.length() && (text.charAt(at) == '+' || text.charAt(at) == '-')) {
                at++;
            }
            int expDigits = at;
            while (at < text.length() && Character.isDigit(text.charAt(at))) {
                at++;
            }
            if (at == expDigits) {
                at = e;
                throw error("invalid number");
            }
            isFloat = true;
        }
        if (at < text.length() && Character.isJavaIdentifierPart(text.charAt(at))) {
            throw error("invalid number");
        }
        String literal = (negative ? "-" : "") + text.substring(digits, at);
        if (isFloat) {
            return Double.parseDouble(literal);
        }
        try {
            return Long.parseLong(literal);
        } catch (NumberFormatException e) {
            at = start;
            throw error("integer too large");
        }
    }
}
