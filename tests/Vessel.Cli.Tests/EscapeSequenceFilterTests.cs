using System.Text;
using Vessel.Cli.Terminal;

namespace Vessel.Cli.Tests;

public class EscapeSequenceFilterTests
{
    private readonly List<byte> guest = [];
    private readonly StringBuilder user = new();
    private int quits;

    private EscapeSequenceFilter CreateFilter() =>
        new(bytes => guest.AddRange(bytes.ToArray()), () => quits++, text => user.Append(text));

    [Fact]
    public void Ordinary_keys_pass_through_to_the_guest()
    {
        CreateFilter().Feed("ls -l\r"u8);

        Assert.Equal("ls -l\r"u8.ToArray(), guest);
        Assert.Equal(0, quits);
    }

    [Fact]
    public void Ctrl_a_x_quits_and_sends_nothing_after_it()
    {
        CreateFilter().Feed("ab\u0001xcd"u8);

        Assert.Equal("ab"u8.ToArray(), guest);
        Assert.Equal(1, quits);
    }

    [Fact]
    public void The_escape_may_be_split_across_reads()
    {
        var filter = CreateFilter();

        filter.Feed("a\u0001"u8);
        filter.Feed("x"u8);

        Assert.Equal("a"u8.ToArray(), guest);
        Assert.Equal(1, quits);
    }

    [Fact]
    public void Ctrl_a_twice_sends_one_ctrl_a_to_the_guest()
    {
        CreateFilter().Feed("\u0001\u0001z"u8);

        Assert.Equal(new byte[] { 0x01, (byte)'z' }, guest);
        Assert.Equal(0, quits);
    }

    [Fact]
    public void Ctrl_a_h_prints_help_to_the_user_only()
    {
        CreateFilter().Feed("\u0001h"u8);

        Assert.Empty(guest);
        Assert.Contains("C-a x", user.ToString());
    }
}
