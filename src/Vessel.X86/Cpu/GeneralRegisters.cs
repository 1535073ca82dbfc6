namespace Vessel.X86.Cpu;

/// <summary>Named views of the general registers, for code outside the hot path (boot, tests, debugging).</summary>
public readonly unsafe struct GeneralRegisters(CpuState* state)
{
    public ulong Rax { get => state->Gpr[0]; set => state->Gpr[0] = value; }

    public ulong Rcx { get => state->Gpr[1]; set => state->Gpr[1] = value; }

    public ulong Rdx { get => state->Gpr[2]; set => state->Gpr[2] = value; }

    public ulong Rbx { get => state->Gpr[3]; set => state->Gpr[3] = value; }

    public ulong Rsp { get => state->Gpr[4]; set => state->Gpr[4] = value; }

    public ulong Rbp { get => state->Gpr[5]; set => state->Gpr[5] = value; }

    public ulong Rsi { get => state->Gpr[6]; set => state->Gpr[6] = value; }

    public ulong Rdi { get => state->Gpr[7]; set => state->Gpr[7] = value; }

    public ulong this[int index] { get => state->Gpr[index]; set => state->Gpr[index] = value; }
}
