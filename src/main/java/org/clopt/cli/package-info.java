/** The {@code clopt} command line: {@code replay} and the commands built on the library. */
package org.clopt.cli;
