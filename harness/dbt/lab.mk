# Lab dbt: the translator decodes with Capstone and runs its CCFs in Unicorn.
dbt_PKGS := capstone unicorn
dbt_LDLIBS := -lpthread
dbt_TOOLS := part0 dbtfuzz
