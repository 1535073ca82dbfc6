using Vessel.Testing.Serial;
namespace Vessel.Guests.Tests;

public sealed class CapturingSerialOutputTests
{
    [Fact]
    public void Waiting_returns_once_another_thread_writes_the_text()
    {
        var output = new CapturingSerialOutput();

        // A thread of its own, not the pool's: parallel guest tests can keep the pool busy for seconds on a 2-core host.
        var writer = new Thread(() =>
        {
            output.Write("booting\r\n"u8);
            output.Write("vessel-guest: user"u8);
            output.Write("space up\r\n"u8);
        });
        writer.Start();

        int end = output.WaitFor("userspace up", TimeSpan.FromSeconds(60));
        writer.Join();

        Assert.Equal("booting\r\nvessel-guest: userspace up".Length, end);
    }

    [Fact]
    public void Waiting_gives_up_with_the_console_tail_when_the_machine_has_stopped()
    {
        var output = new CapturingSerialOutput();
        output.Write("Kernel panic - not syncing\r\n"u8);

        var error = Assert.Throws<TimeoutException>(() => output.WaitFor("# ", TimeSpan.FromSeconds(30), giveUp: () => "the machine stopped"));

        Assert.Contains("the machine stopped", error.Message);
        Assert.Contains("Kernel panic", error.Message);
    }

    [Fact]
    public void Waiting_starts_at_the_given_index()
    {
        var output = new CapturingSerialOutput();
        output.Write("@@end-1 and more"u8);

        Assert.Throws<TimeoutException>(() => output.WaitFor("@@end-1", TimeSpan.FromMilliseconds(50), from: 1));
    }
}
