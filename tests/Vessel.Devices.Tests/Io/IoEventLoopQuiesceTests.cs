using Vessel.Core.Logging;
using Vessel.Devices.Io;

namespace Vessel.Devices.Tests.Io;

public sealed class IoEventLoopQuiesceTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private readonly IoEventLoop loop = new(NullMachineLog.Instance, "quiesce-test");

    public void Dispose() => loop.Dispose();

    [Fact]
    public void Work_scheduled_while_quiesced_waits_for_resume_and_then_runs()
    {
        var work = new SignallingWork();
        Assert.True(loop.Quiesce(Generous));

        loop.Schedule(work);

        // The loop is parked: give it every chance to run the work wrongly, then check it did not.
        Assert.False(work.Ran.Wait(TimeSpan.FromMilliseconds(300)));
        loop.Resume();
        Assert.True(work.Ran.Wait(Generous));
    }

    [Fact]
    public void Quiesce_waits_for_the_work_in_hand_to_finish()
    {
        var slow = new BlockingWork();
        loop.Schedule(slow);
        Assert.True(slow.Started.Wait(Generous));

        bool parked = false;
        using var returned = new ManualResetEventSlim(false);
        var pauser = new Thread(() =>
        {
            parked = loop.Quiesce(Generous);
            returned.Set();
        });
        pauser.Start();
        Assert.False(returned.Wait(TimeSpan.FromMilliseconds(300)));
        slow.Release.Set();

        Assert.True(returned.Wait(Generous));
        Assert.True(parked);
        loop.Resume();
    }

    private sealed class SignallingWork : IoWork
    {
        public ManualResetEventSlim Ran { get; } = new(false);

        public override void Run() => Ran.Set();
    }

    private sealed class BlockingWork : IoWork
    {
        public ManualResetEventSlim Started { get; } = new(false);

        public ManualResetEventSlim Release { get; } = new(false);

        public override void Run()
        {
            Started.Set();
            Release.Wait();
        }
    }
}
