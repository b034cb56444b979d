namespace DmaLab.Cli;

/// <summary>The <c>schemaVersion</c> every JSON document carries (docs/json.md). Raised when a field changes its
/// name, type or meaning; adding a field does not raise it.</summary>
public static class JsonSchemaVersion
{
    public const int Current = 1;
}
