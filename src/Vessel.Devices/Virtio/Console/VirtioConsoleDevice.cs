using System.Buffers.Binary;
using Vessel.Core.Snapshots;
using Vessel.Devices.Serial;
using Vessel.Devices.Virtio.Queues;

namespace Vessel.Devices.Virtio.Console;

/// <summary>
/// virtio-console with one port (virtio 1.2 §5.3, no MULTIPORT): the guest's hvc0. Its output goes to an
/// <see cref="ISerialOutput"/>; host input is queued (bounded) and handed to the guest's receive buffers on the I/O thread.
/// </summary>
public sealed class VirtioConsoleDevice : VirtioDevice, IStateful
{
    public const int ReceiveQueue = 0;
    public const int TransmitQueue = 1;

    /// <summary>Host input waiting for receive buffers; more is dropped, as a UART overruns.</summary>
    private const int InputCapacity = 64 * 1024;

    private readonly ISerialOutput output;
    private readonly DescriptorChain transmitChain = new(256);
    private readonly DescriptorChain receiveChain = new(256);
    private readonly Func<DescriptorChain, uint> transmit;
    private readonly object inputLock = new();
    private readonly byte[] input = new byte[InputCapacity];
    private readonly byte[] transmitBuffer = new byte[4096];
    private int inputHead;
    private int inputCount;

    public VirtioConsoleDevice(ISerialOutput output)
    {
        this.output = output;
        transmit = Transmit;
    }

    public override VirtioDeviceType Type => VirtioDeviceType.Console;

    public override ulong DeviceFeatures => 0;

    public override int QueueCount => 2;

    /// <summary>cols, rows, max_nr_ports, emerg_wr (§5.3.4).</summary>
    public override int ConfigurationSize => 12;

    public int StateVersion => 1;

    /// <summary>Host input not yet delivered to the guest, oldest first.</summary>
    public void SaveState(StateWriter writer)
    {
        lock (inputLock)
        {
            var queued = new byte[inputCount];
            for (int index = 0; index < inputCount; index++)
            {
                queued[index] = input[(inputHead + index) % input.Length];
            }

            writer.WriteBytes(queued);
        }
    }

    public void RestoreState(StateReader reader, int version)
    {
        var queued = reader.ReadBytes();
        if (queued.Length > input.Length)
        {
            throw reader.Malformed($"the console holds {queued.Length} input bytes; it has room for {input.Length}");
        }

        lock (inputLock)
        {
            queued.CopyTo(input);
            inputHead = 0;
            inputCount = queued.Length;
        }
    }

    public override void ReadConfiguration(int offset, Span<byte> data)
    {
        Span<byte> config = stackalloc byte[12];
        BinaryPrimitives.WriteUInt16LittleEndian(config, 80);
        BinaryPrimitives.WriteUInt16LittleEndian(config[2..], 25);
        BinaryPrimitives.WriteUInt32LittleEndian(config[4..], 1);
        config.Slice(offset, data.Length).CopyTo(data);
    }

    /// <summary>Host keystrokes for the guest; safe from any thread.</summary>
    public void EnqueueInput(ReadOnlySpan<byte> bytes)
    {
        lock (inputLock)
        {
            foreach (byte value in bytes)
            {
                if (inputCount == input.Length)
                {
                    break;
                }

                input[(inputHead + inputCount) % input.Length] = value;
                inputCount++;
            }
        }

        Context?.ScheduleQueue(ReceiveQueue);
    }

    public override void ProcessQueue(int queueIndex)
    {
        if (queueIndex == TransmitQueue)
        {
            ServeRequests(TransmitQueue, transmitChain, transmit);
        }
        else
        {
            DeliverInput();
        }
    }

    private uint Transmit(DescriptorChain request)
    {
        var memory = Context!.Memory;
        ulong offset = 0;
        while (offset < request.ReadableLength)
        {
            int count = request.Read(memory, offset, transmitBuffer);
            if (count == 0)
            {
                break;
            }

            output.Write(transmitBuffer.AsSpan(0, count));
            offset += (ulong)count;
        }

        return 0;
    }

    private void DeliverInput()
    {
        var context = Context;
        if (context == null)
        {
            return;
        }

        var queue = context.Queues[ReceiveQueue];
        Span<byte> piece = stackalloc byte[512];
        bool delivered = false;
        while (true)
        {
            lock (inputLock)
            {
                if (inputCount == 0)
                {
                    break;
                }
            }

            var result = queue.TryPop(receiveChain);
            if (result == PopResult.Violation)
            {
                context.Fail($"receive queue: {queue.Violation}");
                return;
            }

            if (result == PopResult.Empty)
            {
                break;
            }

            uint written = 0;
            while (written < receiveChain.WritableLength)
            {
                int count;
                lock (inputLock)
                {
                    count = (int)Math.Min(Math.Min((ulong)inputCount, (ulong)piece.Length), receiveChain.WritableLength - written);
                    for (int index = 0; index < count; index++)
                    {
                        piece[index] = input[(inputHead + index) % input.Length];
                    }

                    inputHead = (inputHead + count) % input.Length;
                    inputCount -= count;
                }

                if (count == 0)
                {
                    break;
                }

                written += (uint)receiveChain.Write(context.Memory, written, piece[..count]);
            }

            queue.PushUsed(receiveChain.Head, written);
            delivered = true;
        }

        if (delivered && queue.NeedsInterrupt())
        {
            context.NotifyUsed(ReceiveQueue);
        }
    }
}
