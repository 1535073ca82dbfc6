using System.Numerics;
using Vessel.X86.Apic;
using Vessel.X86.Cpu;

namespace Vessel.X86.Hypercalls;

/// <summary>
/// The KVM hypercalls the software VM answers (Linux Documentation/virt/kvm/x86/hypercalls.rst). Only KVM_HC_SEND_IPI
/// is implemented; every other number returns -KVM_ENOSYS, as KVM does for a number it does not know.
/// </summary>
public sealed class KvmHypercalls(ApicBus apicBus) : IHypercallHandler
{
    /// <summary>KVM_HC_SEND_IPI: a0/a1 a bitmap of APIC IDs from a2 up, a3 the ICR's low word.</summary>
    public const ulong SendInterProcessorInterrupt = 10;

    /// <summary>-KVM_EINVAL.</summary>
    public const ulong InvalidArgument = unchecked((ulong)-22L);

    private const uint IcrVectorMask = 0xFF;
    private const int IcrDeliveryModeShift = 8;
    private const uint IcrLogicalDestination = 1u << 11;
    private const uint IcrAssert = 1u << 14;
    private const uint IcrLevelTriggered = 1u << 15;

    public ulong Call(ulong number, ulong argument0, ulong argument1, ulong argument2, ulong argument3, bool longCall) => number switch
    {
        SendInterProcessorInterrupt => SendIpis(argument0, argument1, argument2, (uint)argument3, longCall),
        _ => Cpu.Execution.Hypercalls.NotImplemented,
    };

    /// <summary>
    /// Sends the ICR's interrupt to each APIC ID whose bit is set: bit n of a0 names ID min+n, bit n of a1 names ID
    /// min+64+n (min+32+n for a 32-bit caller, whose bitmaps are 32 bits wide). Returns how many APICs received it.
    /// Logical destinations are refused with -KVM_EINVAL.
    /// </summary>
    private ulong SendIpis(ulong lowBitmap, ulong highBitmap, ulong minimumId, uint icr, bool longCall)
    {
        if ((icr & IcrLogicalDestination) != 0)
        {
            return InvalidArgument;
        }

        int clusterSize = longCall ? 64 : 32;
        int delivered = Deliver(lowBitmap, minimumId, icr) + Deliver(highBitmap, minimumId + (ulong)clusterSize, icr);
        return (ulong)delivered;
    }

    private int Deliver(ulong bitmap, ulong firstId, uint icr)
    {
        int delivered = 0;
        while (bitmap != 0)
        {
            int bit = BitOperations.TrailingZeroCount(bitmap);
            bitmap &= bitmap - 1;
            ulong id = firstId + (ulong)bit;
            if (id > uint.MaxValue)
            {
                break;
            }

            // KVM looks each ID up in its physical APIC map: an ID no vCPU has receives nothing, and all-ones is not
            // a broadcast here.
            foreach (var apic in apicBus.Apics)
            {
                if (apic.InitialApicId == id)
                {
                    apic.Accept(new InterruptMessage(
                        (int)(icr & IcrVectorMask),
                        (ApicDeliveryMode)((icr >> IcrDeliveryModeShift) & 7),
                        LogicalDestination: false,
                        (uint)id,
                        LevelTriggered: (icr & IcrLevelTriggered) != 0,
                        Assert: (icr & IcrAssert) != 0,
                        X2ApicDestination: true));
                    delivered++;
                    break;
                }
            }
        }

        return delivered;
    }
}
