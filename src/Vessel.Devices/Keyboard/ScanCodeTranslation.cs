namespace Vessel.Devices.Keyboard;

/// <summary>
/// The i8042's scan code set 2 to set 1 translation, for the bytes our keyboard can send. Protocol bytes at 0x80 and
/// above (acknowledge, BAT result, echo, resend, the first ID byte) pass through untranslated; 0x83, set 2's F7 key,
/// is the exception the translation table maps to 0x41, which is why Linux sees a translated keyboard's ID as 0xAB41.
/// The scan code set numbers 1-3 are translated like the set 2 codes they equal (to 0x43, 0x41, 0x3F).
/// </summary>
internal static class ScanCodeTranslation
{
    public static byte ToSet1(byte set2Code) => set2Code switch
    {
        0x01 => 0x43,
        0x02 => 0x41,
        0x03 => 0x3F,
        0x83 => 0x41,
        _ => set2Code,
    };
}
