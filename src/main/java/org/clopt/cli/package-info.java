/**
 * The {@code clopt} command line and nothing else: {@code train}, {@code replay}, {@code bench},
 * {@code verify} and {@code devices}, with their shared options (device, optimizer), progress
 * display and one-line bad-input errors. The work itself lives in the library and in
 * {@code org.clopt.tools} and {@code org.clopt.train}.
 */
package org.clopt.cli;
