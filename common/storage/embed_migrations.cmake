# Writes ${OUTPUT}: a C++ table of the migrations in ${MIGRATIONS_DIR}, in file-name order, so the
# binaries carry their schema and need no files at run time.
file(GLOB files "${MIGRATIONS_DIR}/*.sql")
list(SORT files)
set(body "")
foreach(path IN LISTS files)
  get_filename_component(name "${path}" NAME_WE)
  file(READ "${path}" sql)
  string(APPEND body "    {\"${name}\", R\"dd_sql(${sql})dd_sql\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp"
"// Generated from common/storage/migrations by embed_migrations.cmake. Do not edit.\n"
"#include \"common/storage/migrations.h\"\n\n"
"namespace dd::storage {\n\n"
"const std::vector<Migration>& AllMigrations() {\n"
"  static const std::vector<Migration> migrations = {\n${body}  };\n"
"  return migrations;\n}\n\n}  // namespace dd::storage\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
