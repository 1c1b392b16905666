// Placeholder translation unit for modules whose sources have not landed yet.
namespace sluice {}
