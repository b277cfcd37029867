package config

import "reflect"

// Clone returns a deep copy that can be changed without touching c: every slice, map and
// pointer, at any depth, is copied. The copy is made by walking the types, not by a list
// of fields, so that a field added to Config later is copied too (TestCloneSharesNothing
// fills every field to check it).
func (c *Config) Clone() *Config {
	n := new(Config)
	deepCopy(reflect.ValueOf(n).Elem(), reflect.ValueOf(c).Elem())
	return n
}

// deepCopy sets dst, which is addressable and zero, to a copy of src that shares no
// slice, map or pointer with it. Strings and numbers are values already; unexported
// struct fields (none in Config) are copied as they are.
func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if !src.IsNil() {
			p := reflect.New(src.Type().Elem())
			deepCopy(p.Elem(), src.Elem())
			dst.Set(p)
		}
	case reflect.Slice:
		if !src.IsNil() {
			s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
			for i := range src.Len() {
				deepCopy(s.Index(i), src.Index(i))
			}
			dst.Set(s)
		}
	case reflect.Map:
		if !src.IsNil() {
			m := reflect.MakeMapWithSize(src.Type(), src.Len())
			for it := src.MapRange(); it.Next(); {
				v := reflect.New(src.Type().Elem()).Elem()
				deepCopy(v, it.Value())
				m.SetMapIndex(it.Key(), v)
			}
			dst.Set(m)
		}
	case reflect.Struct:
		dst.Set(src)
		for i := range src.NumField() {
			if dst.Field(i).CanSet() {
				dst.Field(i).SetZero()
				deepCopy(dst.Field(i), src.Field(i))
			}
		}
	default:
		dst.Set(src)
	}
}
