using Vessel.Devices.Debug;

namespace Vessel.Devices.Tests.Debug;

public sealed class PostCodePortTests
{
    [Fact]
    public void Reads_return_all_ones_after_any_write()
    {
        var port = new PostCodePort();
        port.Write(0, [0x42]);
        Span<byte> value = stackalloc byte[1];

        port.Read(0, value);

        Assert.Equal(0xFF, value[0]);
    }
}
