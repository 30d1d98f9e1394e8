package org.clopt;

/**
 * No usable OpenCL: the runtime library is missing, no platform is installed, or no device
 * matches the selection. The message says what to install or what was available.
 */
public class OpenClUnavailableException extends CloptException {
    private static final long serialVersionUID = 1L;

    /** What to install on Debian or Ubuntu to get a working OpenCL runtime on the CPU. */
    public static final String INSTALL_HINT =
            "install an OpenCL runtime, e.g. on Debian/Ubuntu: "
                    + "apt-get install pocl-opencl-icd ocl-icd-opencl-dev clinfo";

    /**
     * An exception with this message.
     *
     * @param message what is missing, what to install or what was available
     */
    public OpenClUnavailableException(String message) {
        super(message);
    }

    /**
     * An exception with this message and cause.
     *
     * @param message what is missing, what to install or what was available
     * @param cause the underlying failure
     */
    public OpenClUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
