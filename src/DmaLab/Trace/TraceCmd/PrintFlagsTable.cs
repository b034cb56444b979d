using System.Globalization;
using System.Text;

namespace DmaLab.Trace.TraceCmd;

/// <summary>
/// A <c>__print_flags(REC->FIELD, "DELIM", { MASK, "NAME" }, ...)</c> table taken from an event's print format, the
/// masks being the C constant expressions the kernel wrote out (casts, shifts, or, and, not), evaluated here; and
/// the kernel's way of printing a value with it (Linux: kernel/trace/trace_output.c, trace_print_flags_seq()): in
/// table order, every entry whose mask bits are all set is printed and its bits cleared, until none are left; bits
/// no entry names are printed as hex. This is how dma_alloc's gfp flags read "GFP_KERNEL" in the text.
/// </summary>
internal sealed class PrintFlagsTable
{
    readonly (ulong Mask, string Name)[] _entries;
    readonly string _delim;
    readonly string? _zero;

    PrintFlagsTable((ulong, string)[] entries, string delim, string? zero) { _entries = entries; _delim = delim; _zero = zero; }

    /// <summary>
    /// The table printed for <paramref name="field"/> in <paramref name="printFormat"/>, or null when there is none
    /// or it cannot be read. A "(REC->FIELD) ? __print_flags(...) : "TEXT"" form prints TEXT for zero.
    /// </summary>
    public static PrintFlagsTable? From(string printFormat, string field)
    {
        string call = $"__print_flags(REC->{field},";
        int at = printFormat.IndexOf(call, StringComparison.Ordinal);
        if (at < 0) return null;
        try
        {
            var p = new Parser(printFormat, at + call.Length);
            string delim = p.StringLiteral();
            var entries = new List<(ulong, string)>();
            while (p.TryComma())
            {
                p.Expect('{');
                ulong mask = p.Expression();
                p.Expect(',');
                string name = p.StringLiteral();
                p.Expect('}');
                entries.Add((mask, name));
            }
            p.Expect(')');
            string? zero = null;
            int end = p.Position;
            var rest = printFormat.AsSpan(end).TrimStart();
            if (rest.StartsWith(":") && printFormat.AsSpan(0, at).TrimEnd().EndsWith("?"))
            {
                var q = new Parser(printFormat, end + printFormat.AsSpan(end).IndexOf(':') + 1);
                zero = q.StringLiteral();
            }
            return new PrintFlagsTable(entries.ToArray(), delim, zero);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException) { return null; }
    }

    public string Format(ulong flags)
    {
        if (flags == 0 && _zero is not null) return _zero;
        var sb = new StringBuilder();
        for (int i = 0; i < _entries.Length && flags != 0; i++)
        {
            var (mask, name) = _entries[i];
            if ((flags & mask) != mask) continue;
            flags &= ~mask;
            if (sb.Length > 0) sb.Append(_delim);
            sb.Append(name);
        }
        if (flags != 0)
        {
            if (sb.Length > 0) sb.Append(_delim);
            sb.Append("0x").Append(flags.ToString("x", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>Recursive descent over the C constant expressions of a print format (unsigned 64-bit arithmetic).</summary>
    sealed class Parser(string s, int pos)
    {
        int _pos = pos;
        public int Position => _pos;

        void Skip() { while (_pos < s.Length && char.IsWhiteSpace(s[_pos])) _pos++; }
        char Peek() { Skip(); return _pos < s.Length ? s[_pos] : '\0'; }

        public void Expect(char c)
        {
            if (Peek() != c) throw new FormatException($"expected '{c}' at {_pos}");
            _pos++;
        }

        public bool TryComma()
        {
            if (Peek() != ',') return false;
            _pos++;
            return true;
        }

        public string StringLiteral()
        {
            Expect('"');
            int start = _pos;
            while (_pos < s.Length && s[_pos] != '"') _pos++;
            if (_pos >= s.Length) throw new FormatException("unterminated string");
            return s[start.._pos++];
        }

        public ulong Expression() => Or();

        ulong Or()
        {
            ulong v = Xor();
            while (Peek() == '|' && Next(1) != '|') { _pos++; v |= Xor(); }
            return v;
        }

        ulong Xor()
        {
            ulong v = And();
            while (Peek() == '^') { _pos++; v ^= And(); }
            return v;
        }

        ulong And()
        {
            ulong v = Shift();
            while (Peek() == '&' && Next(1) != '&') { _pos++; v &= Shift(); }
            return v;
        }

        ulong Shift()
        {
            ulong v = Add();
            while (true)
            {
                char c = Peek();
                if (c == '<' && Next(1) == '<') { _pos += 2; v <<= (int)Math.Min(Add(), 64); }
                else if (c == '>' && Next(1) == '>') { _pos += 2; v >>= (int)Math.Min(Add(), 64); }
                else return v;
            }
        }

        ulong Add()
        {
            ulong v = Unary();
            while (true)
            {
                char c = Peek();
                if (c == '+') { _pos++; v += Unary(); }
                else if (c == '-') { _pos++; v -= Unary(); }
                else return v;
            }
        }

        char Next(int k) => _pos + k < s.Length ? s[_pos + k] : '\0';

        ulong Unary()
        {
            char c = Peek();
            if (c == '~') { _pos++; return ~Unary(); }
            if (c == '-') { _pos++; return (ulong)-(long)Unary(); }
            if (c == '!') { _pos++; return Unary() == 0 ? 1UL : 0UL; }
            if (c == '(')
            {
                int save = _pos;
                _pos++;
                if (char.IsLetter(Peek()) || Peek() == '_')
                {
                    // A cast: "( unsigned long)", "( gfp_t)", "(__force gfp_t)".
                    while (char.IsLetterOrDigit(Peek()) || Peek() == '_' || Peek() == '*')
                        while (_pos < s.Length && (char.IsLetterOrDigit(s[_pos]) || s[_pos] is '_' or '*')) _pos++;
                    if (Peek() == ')') { _pos++; return Unary(); }
                    _pos = save;
                    throw new FormatException($"unknown identifier at {save}");
                }
                ulong v = Expression();
                Expect(')');
                return v;
            }
            return Number();
        }

        ulong Number()
        {
            Skip();
            int start = _pos;
            bool hex = _pos + 1 < s.Length && s[_pos] == '0' && (s[_pos + 1] | 0x20) == 'x';
            if (hex) _pos += 2;
            int digits = _pos;
            while (_pos < s.Length && Uri.IsHexDigit(s[_pos]) && (hex || char.IsDigit(s[_pos]))) _pos++;
            if (_pos == digits) throw new FormatException($"expected a number at {start}");
            var text = s.AsSpan(digits, _pos - digits);
            while (_pos < s.Length && (s[_pos] | 0x20) is 'u' or 'l') _pos++;
            return ulong.Parse(text, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture);
        }
    }
}
