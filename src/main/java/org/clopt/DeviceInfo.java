package org.clopt;

/**
 * What clopt reports about an OpenCL device.
 *
 * @param platformIndex index of the platform in the runtime's list
 * @param deviceIndex index of the device within its platform
 * @param platformName the platform's name, for example "Portable Computing Language"
 * @param name the device's name
 * @param type "GPU", "CPU", "ACCELERATOR" or "OTHER"
 * @param version the device's OpenCL version string
 * @param computeUnits parallel compute units
 * @param globalMemoryBytes global memory size
 * @param maxAllocationBytes the largest single buffer the device allows
 * @param fp64 whether double precision is supported
 * @param fp16 whether half precision arithmetic is supported
 * @param correctlyRoundedDivideSqrt whether fp32 divide and sqrt can be correctly rounded
 * @param hostUnifiedMemory whether the device shares memory with the host
 *     ({@code CL_DEVICE_HOST_UNIFIED_MEMORY}: CPUs, integrated GPUs), which lets
 *     {@link ParameterSet#gradientBuffer} hand out the gradients without a copy
 */
public record DeviceInfo(int platformIndex, int deviceIndex, String platformName, String name,
                         String type, String version, long computeUnits, long globalMemoryBytes,
                         long maxAllocationBytes, boolean fp64, boolean fp16,
                         boolean correctlyRoundedDivideSqrt, boolean hostUnifiedMemory) {

    /**
     * "platform:device name", the form device selection by name matches against.
     *
     * @return the qualified name
     */
    public String qualifiedName() {
        return platformName + ": " + name;
    }
}
