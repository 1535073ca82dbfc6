using Vessel.Core.Memory;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Snapshots;

public sealed class SoftwareDirtyLogTests
{
    private const ulong StoredPage = LongModeGuest.DataAddress + 0x5000;

    [Fact]
    public void After_start_a_guest_store_marks_exactly_its_page()
    {
        using var guest = StoringGuest();
        PresetAccessedAndDirty(guest);

        RunWithTheLogStarted(guest);

        Assert.Equal(1u, guest.Io.ExitValue);
        Assert.Equal([StoredPage >> 12], DirtyPages(guest.Memory));
    }

    [Fact]
    public void The_page_walker_setting_accessed_and_dirty_bits_marks_the_page_table_pages()
    {
        using var guest = StoringGuest();

        RunWithTheLogStarted(guest);

        Assert.Equal(
            [LongModeGuest.Pml4Address >> 12, LongModeGuest.PdptAddress >> 12, LongModeGuest.PdAddress >> 12, StoredPage >> 12],
            DirtyPages(guest.Memory));
    }

    [Fact]
    public void A_store_after_a_collection_through_a_translation_cached_before_it_is_logged_again()
    {
        using var guest = StoringGuest();
        PresetAccessedAndDirty(guest);
        RunWithTheLogStarted(guest);
        Assert.Equal([StoredPage >> 12], DirtyPages(guest.Memory));

        guest.Run();
        guest.Vm.CollectDirtyPages();

        Assert.Equal(2u, guest.Io.ExitValue);
        Assert.Equal([StoredPage >> 12], DirtyPages(guest.Memory));
    }

    [Fact]
    public void Without_the_log_guest_stores_mark_nothing()
    {
        using var guest = StoringGuest();
        guest.Memory.TakeDirtyPages();

        guest.Run();

        Assert.Empty(DirtyPages(guest.Memory));
    }

    /// <summary>Starts the dirty log with nothing marked, runs the guest to its next exit, and collects what it dirtied.</summary>
    private static void RunWithTheLogStarted(LongModeGuest guest)
    {
        guest.Vm.StartDirtyLog();
        guest.Memory.TakeDirtyPages();
        guest.Run();
        guest.Vm.CollectDirtyPages();
    }

    /// <summary>Sets every accessed and dirty bit the walk would set, so only the guest's own stores write RAM.</summary>
    private static void PresetAccessedAndDirty(LongModeGuest guest)
    {
        const ulong accessed = 0x20;
        const ulong dirty = 0x40;
        guest.Memory.Write(new GuestAddress(LongModeGuest.Pml4Address), guest.Memory.Read<ulong>(new GuestAddress(LongModeGuest.Pml4Address)) | accessed);
        guest.Memory.Write(new GuestAddress(LongModeGuest.PdptAddress), guest.Memory.Read<ulong>(new GuestAddress(LongModeGuest.PdptAddress)) | accessed);
        for (ulong i = 0; i < 512; i++)
        {
            var entry = new GuestAddress(LongModeGuest.PdAddress + (i * 8));
            guest.Memory.Write(entry, guest.Memory.Read<ulong>(entry) | accessed | dirty);
        }
    }

    private static LongModeGuest StoringGuest() => new(a =>
    {
        a.mov(rsi, StoredPage);
        a.mov(__qword_ptr[rsi + 8], 1);
        a.mov(al, 1);
        a.@out(0xF4, al);
        a.mov(__qword_ptr[rsi + 16], 2);
        a.mov(al, 2);
        a.@out(0xF4, al);
        a.hlt();
    });

    private static List<ulong> DirtyPages(GuestMemory memory)
    {
        var pages = new List<ulong>();
        var words = memory.TakeDirtyPages();
        for (int word = 0; word < words.Length; word++)
        {
            for (int bit = 0; bit < 64; bit++)
            {
                if ((words[word] & (1UL << bit)) != 0)
                {
                    pages.Add(((ulong)word * 64) + (ulong)bit);
                }
            }
        }

        return pages;
    }
}
