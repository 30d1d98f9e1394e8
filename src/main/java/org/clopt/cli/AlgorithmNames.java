package org.clopt.cli;

import java.util.Iterator;
import org.clopt.Algorithms;

/** The registry's names, as picocli's completion candidates: help texts list them from here. */
final class AlgorithmNames implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
        return Algorithms.NAMES.iterator();
    }
}
